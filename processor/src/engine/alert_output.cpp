#include <countersign/processor/engine/pipeline_stats.hpp>
#include <countersign/processor/version.hpp>

namespace countersign::processor {

void render_emitted_alert(const rules::alert_content& content, const std::array<bool, rules::k_alert_format_count>& formats,
                          emitted_alert& a) {
  rules::render_alert(rules::alert_format::countersign, content, a.json);
  for (const auto f : {rules::alert_format::ocsf, rules::alert_format::ecs}) {
    auto& out = a.formatted[static_cast<std::size_t>(f)];
    if (formats[static_cast<std::size_t>(f)]) rules::render_alert(f, content, out);
    else out.clear();
  }
  a.severity = rules::combined_severity(content.hits);
  a.detectors.clear();
  for (const auto& h : content.hits) {
    if (!a.detectors.empty()) a.detectors.push_back(',');
    a.detectors.append(h.id);
  }
  a.source_topic.assign(content.obs.source.topic);
  a.id.assign(content.id);
}

alert_headers alert_headers_of(const emitted_alert& a, rules::alert_format format) {
  return {{{"countersign.severity", rules::to_string(a.severity)},
           {"countersign.detectors", a.detectors},
           {"countersign.schema", rules::schema_name(format)},
           {"countersign.format", rules::to_string(format)},
           {"countersign.source.topic", a.source_topic},
           {"countersign.id", a.id}}};
}

}  // namespace countersign::processor
