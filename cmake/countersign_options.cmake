# Compiler flags shared by every target of the project, applied through an
# interface library so that third-party code is never built with -Werror.
add_library(countersign_compile_options INTERFACE)
target_compile_options(countersign_compile_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(COUNTERSIGN_WERROR)
  target_compile_options(countersign_compile_options INTERFACE -Werror)
endif()
if(COUNTERSIGN_SANITIZE)
  target_compile_options(countersign_compile_options INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(countersign_compile_options INTERFACE -fsanitize=address,undefined)
endif()
