#pragma once
// The one list of the observation's fields (docs/design.md section 3). What handles the
// fields one by one is driven from it:
//
//   observation::reset()        every field back to its declared default
//   observation_codec.cpp       the wire layout: fields in this order, encoding by type
//   alert.cpp                   countersign.alert/v1's host, process.hash, process.pe and
//                               source blocks, by `alert` key
//   processor inspect           the field-fill report, by `name`
//   processor user profiles     the `fields:` names a profile may map and how a source
//                               value is converted (`form`)
//   processor sigma_view        the Sigma field names that read a field as it is (`sigma`)
//
// Adding a field: declare it in observation.hpp, add a row here (at the end of its
// group; the position is its place on the wire, so a new row needs a new codec version),
// and teach the built-in walkers (processor/src/engine/profiles/) to fill it. Not driven from
// here, because their key order or shape is a published format of its own
// (docs/alerts.md): the alert's code_signature and codeintegrity blocks (their order is
// not the wire order), the OCSF and ECS renderings; an `alert` key given to a field in
// those blocks must be written there by hand (tests/rules/alert_test.cpp checks the keys
// against a rendered alert both ways).

#include <countersign/rules/observation.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace countersign::rules {

// What a profile mapping converts a source value into (docs/profiles.md, "fields").
enum class value_form : std::uint8_t {
  none,         // not mappable by name: set by the parser, the CI join or the pipeline
  text,         // as the source writes it
  hex,          // lowercase hex without separators
  activity_id,  // a GUID, lowercase without braces
  time,         // milliseconds since the epoch, from RFC 3339 or epoch numbers
  boolean,
  integer,
  status,       // signature_status, with the source's word kept in status_raw
};

// One row: a field reached from `observation` through `Members` (a member, or a member
// of a nested struct). `sigma` holds up to two Sigma field names (Sysmon's, Code
// Integrity's) that read the field whatever the event kind; names whose meaning depends
// on the kind (Image, ImageLoaded, ...) are sigma_view's own.
template <auto... Members>
struct observation_field {
  std::string_view name;   // as profiles and `countersign inspect` spell it
  std::string_view alert;  // its key in countersign.alert/v1 (docs/alerts.md); empty: not in alerts
  value_form form = value_form::none;
  std::array<std::string_view, 2> sigma{};

  template <class Obs>
  static constexpr decltype(auto) of(Obs& o) noexcept {
    return (o .* ... .* Members);
  }
  using type = std::remove_cvref_t<decltype(of(std::declval<observation&>()))>;
};

// clang-format off
inline constexpr std::tuple k_observation_fields{
    observation_field<&observation::kind>{"kind", ""},
    observation_field<&observation::event_time_ms>{"event_time", "time", value_form::time},
    observation_field<&observation::host_id>{"host_id", "host.id", value_form::text},
    observation_field<&observation::host_name>{"host_name", "host.name", value_form::text, {"Computer"}},
    observation_field<&observation::host_hash>{"host_hash", ""},
    observation_field<&observation::user_name>{"user_name", "user.name", value_form::text, {"User"}},
    observation_field<&observation::image_path>{"image_path", "process.executable", value_form::text},
    observation_field<&observation::process_path>{"process_path", "", value_form::text},
    observation_field<&observation::sha256>{"sha256", "process.hash.sha256", value_form::hex, {"sha256", "SHA256"}},
    observation_field<&observation::sha1>{"sha1", "process.hash.sha1", value_form::hex, {"sha1", "SHA1"}},

    observation_field<&observation::pe, &pe_info::original_file_name>{"pe.original_file_name", "process.pe.original_file_name", value_form::text, {"OriginalFileName"}},
    observation_field<&observation::pe, &pe_info::company>{"pe.company", "process.pe.company", value_form::text, {"Company"}},
    observation_field<&observation::pe, &pe_info::product>{"pe.product", "process.pe.product", value_form::text, {"Product"}},
    observation_field<&observation::pe, &pe_info::description>{"pe.description", "process.pe.description", value_form::text, {"Description"}},
    observation_field<&observation::pe, &pe_info::file_version>{"pe.file_version", "process.pe.file_version", value_form::text, {"FileVersion"}},

    observation_field<&observation::signature, &code_signature::exists>{"signature.exists", "", value_form::boolean},
    observation_field<&observation::signature, &code_signature::status>{"signature.status", "process.code_signature.status", value_form::status},
    observation_field<&observation::signature, &code_signature::status_raw>{"signature.status_raw", "process.code_signature.status_raw"},
    observation_field<&observation::signature, &code_signature::trusted>{"signature.trusted", "process.code_signature.trusted", value_form::boolean},
    observation_field<&observation::signature, &code_signature::subject>{"signature.subject", "process.code_signature.subject_name", value_form::text},
    observation_field<&observation::signature, &code_signature::subject_cn>{"signature.subject_cn", "", value_form::text},
    observation_field<&observation::signature, &code_signature::subject_o>{"signature.subject_o", "", value_form::text},
    observation_field<&observation::signature, &code_signature::thumbprint>{"signature.thumbprint", "process.code_signature.thumbprint", value_form::hex, {"SignatureThumbprint"}},
    observation_field<&observation::signature, &code_signature::issuer>{"signature.issuer", "process.code_signature.issuer", value_form::text},
    observation_field<&observation::signature, &code_signature::issuer_cn>{"signature.issuer_cn", "", value_form::text},
    observation_field<&observation::signature, &code_signature::serial>{"signature.serial", "process.code_signature.serial_number", value_form::hex},
    observation_field<&observation::signature, &code_signature::not_before_ms>{"signature.not_before", "process.code_signature.not_before", value_form::time},
    observation_field<&observation::signature, &code_signature::not_after_ms>{"signature.not_after", "process.code_signature.not_after", value_form::time},
    observation_field<&observation::signature, &code_signature::signing_time_ms>{"signature.signing_time", "process.code_signature.timestamp", value_form::time},
    observation_field<&observation::signature, &code_signature::signature_type>{"signature.signature_type", "", value_form::text},

    observation_field<&observation::ci, &codeintegrity_info::event_id>{"ci.event_id", "codeintegrity.event_id", value_form::integer, {"EventID"}},
    observation_field<&observation::ci, &codeintegrity_info::klass>{"ci.klass", "codeintegrity.class"},
    observation_field<&observation::ci, &codeintegrity_info::activity_id>{"ci.activity_id", "codeintegrity.activity_id", value_form::activity_id},
    observation_field<&observation::ci, &codeintegrity_info::process_name>{"ci.process_name", "codeintegrity.process", value_form::text},
    observation_field<&observation::ci, &codeintegrity_info::policy_name>{"ci.policy_name", "codeintegrity.policy_name", value_form::text, {"PolicyName", "PolicyNameBuffer"}},
    observation_field<&observation::ci, &codeintegrity_info::policy_id>{"ci.policy_id", "codeintegrity.policy_id", value_form::text, {"PolicyID", "PolicyIdBuffer"}},
    observation_field<&observation::ci, &codeintegrity_info::policy_guid>{"ci.policy_guid", "codeintegrity.policy_guid", value_form::text},
    observation_field<&observation::ci, &codeintegrity_info::requested_signing_level>{"ci.requested_signing_level", "codeintegrity.requested_signing_level", value_form::integer, {"RequestedPolicy"}},
    observation_field<&observation::ci, &codeintegrity_info::validated_signing_level>{"ci.validated_signing_level", "codeintegrity.validated_signing_level", value_form::integer, {"ValidatedPolicy"}},
    observation_field<&observation::ci, &codeintegrity_info::status>{"ci.status", "codeintegrity.status", value_form::hex},
    observation_field<&observation::ci, &codeintegrity_info::verification_error>{"ci.verification_error", "codeintegrity.verification_error", value_form::integer},
    observation_field<&observation::ci, &codeintegrity_info::signature_index>{"ci.signature_index", "", value_form::integer},
    observation_field<&observation::ci, &codeintegrity_info::total_signature_count>{"ci.total_signature_count", "", value_form::integer},
    observation_field<&observation::ci, &codeintegrity_info::publisher_tbs_hash>{"ci.publisher_tbs_hash", "", value_form::hex},
    observation_field<&observation::ci, &codeintegrity_info::issuer_tbs_hash>{"ci.issuer_tbs_hash", "", value_form::hex},
    observation_field<&observation::ci, &codeintegrity_info::user_writable>{"ci.user_writable", "codeintegrity.user_writable", value_form::boolean},
    observation_field<&observation::ci, &codeintegrity_info::joined_signatures>{"ci.joined_signatures", "codeintegrity.joined_signatures"},

    observation_field<&observation::source, &provenance::schema>{"source.schema", "source.schema"},
    observation_field<&observation::source, &provenance::topic>{"source.topic", "source.topic"},
    observation_field<&observation::source, &provenance::partition>{"source.partition", "source.partition"},
    observation_field<&observation::source, &provenance::offset>{"source.offset", "source.offset"},
};
// clang-format on

// What every field holds before a source says anything (the default member
// initializers): what reset() restores, and what `inspect` counts as not filled.
inline const observation k_unset_observation{};

inline constexpr std::size_t k_observation_field_count = std::tuple_size_v<decltype(k_observation_fields)>;

// Calls fn(row) for every row, in order.
template <class Fn>
constexpr void for_each_observation_field(Fn&& fn) {
  std::apply([&fn](const auto&... row) { (fn(row), ...); }, k_observation_fields);
}

// Row i's properties, indexable at run time.
struct observation_field_info {
  std::string_view name;
  std::string_view alert;
  value_form form = value_form::none;
  std::array<std::string_view, 2> sigma{};
};

inline constexpr std::array<observation_field_info, k_observation_field_count> k_observation_field_info =
    std::apply([](const auto&... row) { return std::array{observation_field_info{row.name, row.alert, row.form, row.sigma}...}; },
               k_observation_fields);

// The index of the row called `name`; k_observation_field_count when there is none.
[[nodiscard]] constexpr std::size_t observation_field_index(std::string_view name) noexcept {
  for (std::size_t i = 0; i < k_observation_field_info.size(); ++i) {
    if (k_observation_field_info[i].name == name) return i;
  }
  return k_observation_field_count;
}

void no_such_observation_field();  // never defined: calling it at compile time fails the build

// The row of a field named in code; a name with no row does not compile.
[[nodiscard]] consteval std::size_t observation_field_row(std::string_view name) {
  const std::size_t i = observation_field_index(name);
  if (i == k_observation_field_count) no_such_observation_field();
  return i;
}

// `name` when it is a field profiles may map (a row with a form); any other name does not
// compile.
[[nodiscard]] consteval std::string_view mappable_observation_field(std::string_view name) {
  if (k_observation_field_info[observation_field_row(name)].form == value_form::none) no_such_observation_field();
  return name;
}

namespace detail {

template <class T, class Row>
constexpr T* (*slot_getter(const Row&) noexcept)(observation&) noexcept {
  if constexpr (std::is_same_v<typename Row::type, T>) {
    return [](observation& o) noexcept -> T* { return &Row::of(o); };
  } else {
    return nullptr;
  }
}

template <class T>
inline constexpr auto k_slot_getters = std::apply(
    [](const auto&... row) { return std::array<T* (*)(observation&) noexcept, sizeof...(row)>{slot_getter<T>(row)...}; },
    k_observation_fields);

}  // namespace detail

// Row i of `o` when that field is a T; null when it is not (or i is out of range).
template <class T>
[[nodiscard]] T* observation_field_as(observation& o, std::size_t i) noexcept {
  if (i >= k_observation_field_count) return nullptr;
  const auto get = detail::k_slot_getters<T>[i];
  return get == nullptr ? nullptr : get(o);
}

}  // namespace countersign::rules
