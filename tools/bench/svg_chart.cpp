// svg_chart: axes, ticks, polylines and bars written as SVG elements.
#include "bench/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace actorlm::net {

namespace {

constexpr std::string_view k_palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                          "#9467bd", "#8c564b", "#e377c2", "#17becf"};

// Room around a chart's plot area for the title, tick labels and axis labels.
constexpr double k_left = 64, k_right = 16, k_top = 28, k_bottom = 44;

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.1f", v);
    return buf;
}

// A tick label: as few digits as the step needs.
std::string tick_label(double v, double step) {
    char buf[32];
    const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    return buf;
}

struct plot_area {
    double x0, y0, x1, y1;  // pixels: left, top, right, bottom
    double x_max, y_max;    // data range, from 0
    double px(double x) const { return x0 + (x1 - x0) * std::clamp(x / x_max, 0.0, 1.0); }
    double py(double y) const { return y1 - (y1 - y0) * std::clamp(y / y_max, 0.0, 1.0); }
};

}  // namespace

std::string_view chart_color(size_t i) { return k_palette[i % std::size(k_palette)]; }

std::string xml_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '&': out += "&amp;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default:
                // Control characters are not allowed in XML 1.0 text.
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') continue;
                out += c;
        }
    }
    return out;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
    if (!(hi > lo) || count < 1) return {lo};
    const double raw = (hi - lo) / count;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * magnitude >= raw) {
            step = m * magnitude;
            break;
        }
    // From the first tick at or above lo to the first at or above hi, so the axis covers
    // the data; multiples of the step (not a running sum) keep the labels exact.
    std::vector<double> ticks;
    const double first = std::ceil(lo / step - 1e-9);
    for (double i = first;; i += 1.0) {
        const double t = i * step;
        ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
        if (t >= hi - step * 1e-9 || ticks.size() > 100) break;
    }
    return ticks;
}

svg_document::svg_document(double width, double height) : width_(width), height_(height) {
    body_ += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
}

void svg_document::text(double x, double y, std::string_view s, std::string_view attributes) {
    body_ += "<text x=\"" + number(x) + "\" y=\"" + number(y) + "\" " + std::string(attributes) +
             ">" + xml_escape(s) + "</text>\n";
}

namespace {

// Frame, grid, ticks and labels of a chart with both axes from 0; the area to plot into.
plot_area draw_axes(svg_document& doc, std::string& body, const chart_box& box,
                    std::string_view title, std::string_view x_label, std::string_view y_label,
                    double x_max, double y_max, bool y_ticks) {
    plot_area a{box.x + k_left, box.y + k_top, box.x + box.width - k_right,
                box.y + box.height - k_bottom, x_max > 0 ? x_max : 1.0, y_max > 0 ? y_max : 1.0};
    const auto xt = nice_ticks(0, a.x_max);
    const auto yt = nice_ticks(0, a.y_max);
    if (xt.size() > 1) a.x_max = std::max(a.x_max, xt.back());
    if (yt.size() > 1) a.y_max = std::max(a.y_max, yt.back());
    doc.text(box.x + box.width / 2, box.y + 18, title,
             "text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\"");
    for (double t : xt) {
        const std::string x = number(a.px(t));
        body += "<line x1=\"" + x + "\" y1=\"" + number(a.y0) + "\" x2=\"" + x + "\" y2=\"" +
                number(a.y1) + "\" stroke=\"#e5e5e5\"/>\n";
        doc.text(a.px(t), a.y1 + 16, tick_label(t, xt.size() > 1 ? xt[1] - xt[0] : 1),
                 "text-anchor=\"middle\" font-size=\"11\"");
    }
    if (y_ticks)
        for (double t : yt) {
            const std::string y = number(a.py(t));
            body += "<line x1=\"" + number(a.x0) + "\" y1=\"" + y + "\" x2=\"" + number(a.x1) +
                    "\" y2=\"" + y + "\" stroke=\"#e5e5e5\"/>\n";
            doc.text(a.x0 - 6, a.py(t) + 4, tick_label(t, yt.size() > 1 ? yt[1] - yt[0] : 1),
                     "text-anchor=\"end\" font-size=\"11\"");
        }
    body += "<rect x=\"" + number(a.x0) + "\" y=\"" + number(a.y0) + "\" width=\"" +
            number(a.x1 - a.x0) + "\" height=\"" + number(a.y1 - a.y0) +
            "\" fill=\"none\" stroke=\"#444\"/>\n";
    doc.text((a.x0 + a.x1) / 2, a.y1 + 34, x_label, "text-anchor=\"middle\" font-size=\"12\"");
    const double ly = (a.y0 + a.y1) / 2;
    doc.text(box.x + 14, ly, y_label,
             "text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 " +
                 number(box.x + 14) + " " + number(ly) + ")\"");
    return a;
}

}  // namespace

void svg_document::draw(const chart_box& box, const line_chart& chart) {
    double x_max = chart.x_max, y_max = chart.y_max;
    for (const auto& s : chart.series)
        for (const auto& [x, y] : s.points) {
            if (chart.x_max < 0) x_max = std::max(x_max, x);
            if (chart.y_max < 0) y_max = std::max(y_max, y);
        }
    const plot_area a =
        draw_axes(*this, body_, box, chart.title, chart.x_label, chart.y_label, x_max, y_max, true);
    for (size_t i = 0; i < chart.series.size(); ++i) {
        const auto& s = chart.series[i];
        std::string points;
        double last_y = 0.0;
        for (const auto& [x, y] : s.points) {
            if (chart.stepped) points += number(a.px(x)) + "," + number(a.py(last_y)) + " ";
            points += number(a.px(x)) + "," + number(a.py(y)) + " ";
            last_y = y;
        }
        body_ += "<polyline fill=\"none\" stroke-width=\"1.8\" stroke=\"" +
                 std::string(chart_color(i)) + "\" points=\"" + points + "\"/>\n";
        // Legend, top left inside the plot.
        const double ly = a.y0 + 14 + 16 * static_cast<double>(i);
        body_ += "<line x1=\"" + number(a.x0 + 8) + "\" y1=\"" + number(ly - 4) + "\" x2=\"" +
                 number(a.x0 + 28) + "\" y2=\"" + number(ly - 4) + "\" stroke-width=\"3\" stroke=\"" +
                 std::string(chart_color(i)) + "\"/>\n";
        text(a.x0 + 34, ly, s.name, "font-size=\"11\"");
    }
}

void svg_document::draw(const chart_box& box, const timeline_chart& chart) {
    double x_max = 0;
    for (const auto& b : chart.bars) x_max = std::max(x_max, b.end);
    const double rows = static_cast<double>(std::max<size_t>(chart.bars.size(), 1));
    const plot_area a = draw_axes(*this, body_, box, chart.title, chart.x_label,
                                  "requests (by arrival)", x_max, rows, false);
    const double row_height = (a.y1 - a.y0) / rows;
    const double stroke = std::clamp(row_height * 0.8, 0.5, 6.0);
    const std::string color(chart_color(chart.color_index));
    for (size_t i = 0; i < chart.bars.size(); ++i) {
        const auto& b = chart.bars[i];
        const std::string y = number(a.y0 + row_height * (static_cast<double>(i) + 0.5));
        body_ += "<line x1=\"" + number(a.px(b.start)) + "\" x2=\"" + number(a.px(b.first_token)) +
                 "\" y1=\"" + y + "\" y2=\"" + y + "\" stroke=\"#bbbbbb\" stroke-width=\"" +
                 number(stroke) + "\"/>\n";
        body_ += "<line x1=\"" + number(a.px(b.first_token)) + "\" x2=\"" + number(a.px(b.end)) +
                 "\" y1=\"" + y + "\" y2=\"" + y + "\" stroke=\"" + color + "\" stroke-width=\"" +
                 number(stroke) + "\"/>\n";
    }
    text(a.x0 + 8, a.y1 - 8, chart.series_name + " (grey: waiting for the first token)",
         "font-size=\"11\" fill=\"" + color + "\"");
}

std::string svg_document::str() const {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + number(width_) +
           "\" height=\"" + number(height_) + "\" viewBox=\"0 0 " + number(width_) + " " +
           number(height_) + "\" font-family=\"sans-serif\">\n" + body_ + "</svg>\n";
}

}  // namespace actorlm::net
