// json_schema_formats: one table of format -> pattern. The patterns are strict subsets of
// each format's definition (RFC 3339 dates without leap-second checks, ASCII emails and
// host names), so a generated value is always valid under the format.
#include "structured/json_schema_formats.hpp"

namespace actorlm::structured {

namespace {

struct format_entry {
    std::string_view name;
    std::string_view pattern;
};

#define ACTORLM_DATE "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
#define ACTORLM_TIME "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
#define ACTORLM_IPV4_OCTET "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#define ACTORLM_LABEL "[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?"

constexpr format_entry k_formats[] = {
    {"date", ACTORLM_DATE},
    {"time", ACTORLM_TIME},
    {"date-time", ACTORLM_DATE "T" ACTORLM_TIME},
    {"uuid", "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"},
    {"email", "[a-zA-Z0-9_+-]{1,32}(\\.[a-zA-Z0-9_+-]{1,32}){0,3}@" ACTORLM_LABEL
              "(\\." ACTORLM_LABEL "){0,3}\\.[a-zA-Z]{2,6}"},
    {"ipv4", "(" ACTORLM_IPV4_OCTET "\\.){3}" ACTORLM_IPV4_OCTET},
    {"hostname", ACTORLM_LABEL "(\\." ACTORLM_LABEL "){0,5}"},
    {"uri", "(https?|ftp|file|urn|mailto):[a-zA-Z0-9/?#@!$&'()*+,;=:._~%-]{1,200}"},
    {"duration", "P[0-9]{1,4}D(T[0-9]{1,2}H)?"},
};

#undef ACTORLM_DATE
#undef ACTORLM_TIME
#undef ACTORLM_IPV4_OCTET
#undef ACTORLM_LABEL

}  // namespace

std::string_view json_format_pattern(std::string_view format) {
    for (const format_entry& e : k_formats)
        if (e.name == format) return e.pattern;
    return {};
}

std::string_view json_supported_formats() {
    return "date, time, date-time, uuid, email, ipv4, hostname, uri, duration";
}

}  // namespace actorlm::structured
