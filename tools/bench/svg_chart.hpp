// svg_chart: charts as standalone SVG text, so benchmark results can be looked at
// in any browser or embedded in Markdown with no viewer plugin and no script:
// line charts (plain or stepped, for CDFs) with "nice" axis ticks and a legend,
// and timelines (one horizontal bar per request). Every text is XML-escaped.
// Pure; any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actorlm::net {

/// The colour of series i (a colour-blind-safe palette, repeating).
std::string_view chart_color(size_t i);

/// Where a chart goes on the page, in SVG user units.
struct chart_box {
    double x = 0, y = 0, width = 560, height = 320;
};

struct chart_series {
    std::string name;
    std::vector<std::pair<double, double>> points;  // (x, y), x ascending
};

struct line_chart {
    std::string title, x_label, y_label;
    std::vector<chart_series> series;
    bool stepped = false;   // draw each point as a step (CDFs)
    double x_max = -1.0;    // < 0: the data's maximum
    double y_max = -1.0;    // < 0: the data's maximum
};

/// One request on a timeline: waiting for its first token, then streaming.
struct timeline_bar {
    double start = 0, first_token = 0, end = 0;
};

struct timeline_chart {
    std::string title, x_label;
    std::string series_name;
    size_t color_index = 0;
    std::vector<timeline_bar> bars;  // drawn top to bottom in this order
};

/// An SVG document of a fixed size that charts are drawn into.
class svg_document {
public:
    svg_document(double width, double height);
    void text(double x, double y, std::string_view s, std::string_view attributes = {});
    void draw(const chart_box& box, const line_chart& chart);
    void draw(const chart_box& box, const timeline_chart& chart);
    /// The finished document (the root element closed).
    std::string str() const;

private:
    std::string body_;
    double width_, height_;
};

/// "a < b & c" -> "a &lt; b &amp; c" (also quotes, for attributes).
std::string xml_escape(std::string_view s);

/// Ticks at a 1-2-5 step, about `count` of them, from the first at or above `lo` to the
/// first at or above `hi` (so the last tick bounds the data).
std::vector<double> nice_ticks(double lo, double hi, int count = 5);

}  // namespace actorlm::net
