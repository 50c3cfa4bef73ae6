/*
 * svg.c - line charts in plain SVG (see svg.h).
 */
#include "svg.h"

#include <math.h>
#include <string.h>

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"};
#define NCOLOURS (sizeof colours / sizeof colours[0])

static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

void svg_text(FILE *f, double x, double y, double size, const char *anchor, const char *text)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" text-anchor=\"%s\">", x, y, size,
            anchor);
    put_escaped(f, text);
    fputs("</text>\n", f);
}

void svg_begin(FILE *f, double width, double height, const char *title)
{
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            width, height, width, height);
    if (title)
        svg_text(f, width / 2, 24, 16, "middle", title);
}

void svg_end(FILE *f) { fputs("</svg>\n", f); }

/* y in data units to the axis' coordinate (log10 for a log axis). */
static double ycoord(const struct svg_panel *p, double y) { return p->ylog ? log10(y) : y; }

static void fmt_number(char *buf, size_t n, double v)
{
    if (v != 0 && (fabs(v) >= 1e6 || fabs(v) < 1e-3))
        snprintf(buf, n, "%.0e", v);
    else if (fabs(v - round(v)) < 1e-9)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%g", v);
}

void svg_panel(FILE *f, const struct svg_panel *p, const struct svg_series *s, size_t ns)
{
    /* The y range, from the data unless given. */
    double ymin = p->ymin, ymax = p->ymax;
    if (ymin == 0 && ymax == 0) {
        ymin = INFINITY;
        ymax = -INFINITY;
        for (size_t i = 0; i < ns; i++)
            for (size_t j = 0; j < s[i].n; j++) {
                double y = s[i].y[j];
                if (isnan(y) || (p->ylog && y <= 0))
                    continue;
                if (y < ymin)
                    ymin = y;
                if (y > ymax)
                    ymax = y;
            }
        if (!(ymin <= ymax)) {
            ymin = 1;
            ymax = 10;
        }
        if (p->ylog) {
            ymin = pow(10, floor(log10(ymin)));
            ymax = pow(10, ceil(log10(ymax) + 1e-9));
        } else {
            double span = ymax - ymin > 0 ? ymax - ymin : fabs(ymax) + 1;
            double step = pow(10, floor(log10(span / 4)));
            ymin = ymin >= 0 && ymin < span ? 0 : floor(ymin / step) * step;
            ymax = ceil(ymax * 1.05 / step) * step;
        }
    }
    const double pl = p->left + 64, pr = p->left + p->width - 12;
    const double pt = p->top + (p->note ? 46 : 34), pb = p->top + p->height - 44;
    const double c0 = ycoord(p, ymin), c1 = ycoord(p, ymax);
#define PX(x) (pl + ((x) - p->xmin) / (p->xmax - p->xmin) * (pr - pl))
#define PY(y) (pb - (ycoord(p, (y)) - c0) / (c1 - c0) * (pb - pt))

    fputs("<g>\n", f);
    svg_text(f, (pl + pr) / 2, p->top + 18, 14, "middle", p->title);
    if (p->note)
        svg_text(f, (pl + pr) / 2, p->top + 34, 10, "middle", p->note);
    fprintf(f,
            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
            "stroke=\"#444\"/>\n",
            pl, pt, pr - pl, pb - pt);

    /* y ticks and grid */
    char buf[64];
    if (p->ylog) {
        for (double dec = floor(c0); dec <= c1 + 1e-9; dec++) {
            static const double mult[] = {1, 2, 5};
            for (size_t m = 0; m < 3; m++) {
                double v = mult[m] * pow(10, dec);
                if (log10(v) < c0 - 1e-9 || log10(v) > c1 + 1e-9)
                    continue;
                double y = PY(v);
                fprintf(f,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                        pl, y, pr, y, m == 0 ? "#ccc" : "#eee");
                fmt_number(buf, sizeof buf, v);
                svg_text(f, pl - 4, y + 4, 10, "end", buf);
            }
        }
    } else {
        double span = ymax - ymin, step = pow(10, floor(log10(span / 4)));
        if (span / step > 10)
            step *= 2;
        if (span / step > 10)
            step *= 2.5;
        for (double v = ceil(ymin / step) * step; v <= ymax + step * 1e-9; v += step) {
            double y = PY(v);
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                    pl, y, pr, y);
            fmt_number(buf, sizeof buf, fabs(v) < step * 1e-9 ? 0 : v);
            svg_text(f, pl - 4, y + 4, 10, "end", buf);
        }
    }
    /* x ticks */
    if (p->xticks) {
        for (size_t i = 0; i < p->nxticks; i++) {
            double x = PX(p->xticks[i]);
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                    x, pt, x, pb);
            if (p->xtick_labels)
                svg_text(f, x, pb + 14, 10, "middle", p->xtick_labels[i]);
            else {
                fmt_number(buf, sizeof buf, p->xticks[i]);
                svg_text(f, x, pb + 14, 10, "middle", buf);
            }
        }
    } else {
        double span = p->xmax - p->xmin, step = pow(10, floor(log10(span / 4)));
        for (double v = ceil(p->xmin / step) * step; v <= p->xmax + step * 1e-9; v += step) {
            double x = PX(v);
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                    x, pt, x, pb);
            fmt_number(buf, sizeof buf, v);
            svg_text(f, x, pb + 14, 10, "middle", buf);
        }
    }
    svg_text(f, (pl + pr) / 2, pb + 32, 12, "middle", p->xlabel);
    fprintf(f, "<g transform=\"translate(%.1f,%.1f) rotate(-90)\">", p->left + 14, (pt + pb) / 2);
    svg_text(f, 0, 0, 12, "middle", p->ylabel);
    fputs("</g>\n", f);

    /* series, clipped to the plot area */
    static unsigned clip_id;
    clip_id++;
    fprintf(f,
            "<clipPath id=\"c%u\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
            "</clipPath>\n<g clip-path=\"url(#c%u)\">\n",
            clip_id, pl, pt, pr - pl, pb - pt, clip_id);
    for (size_t i = 0; i < ns; i++) {
        const char *col = colours[(size_t)s[i].style % NCOLOURS];
        const char *dash = (size_t)s[i].style >= NCOLOURS ? " stroke-dasharray=\"6,3\"" : "";
        int open = 0; /* NaN points are left out; the line joins their neighbours */
        for (size_t j = 0; j < s[i].n; j++) {
            double y = s[i].y[j];
            if (isnan(y) || (p->ylog && y <= 0))
                continue;
            if (!open)
                fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s points=\"",
                        col, dash);
            open = 1;
            fprintf(f, "%.1f,%.1f ", PX(s[i].x[j]), PY(y));
        }
        if (open)
            fputs("\"/>\n", f);
        if (s[i].markers)
            for (size_t j = 0; j < s[i].n; j++)
                if (!isnan(s[i].y[j]) && !(p->ylog && s[i].y[j] <= 0))
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                            PX(s[i].x[j]), PY(s[i].y[j]), col);
    }
    fputs("</g>\n", f);
    /* legend, top left inside the plot */
    for (size_t i = 0; i < ns; i++) {
        const char *col = colours[(size_t)s[i].style % NCOLOURS];
        const char *dash = (size_t)s[i].style >= NCOLOURS ? " stroke-dasharray=\"6,3\"" : "";
        double y = pt + 14 + 13 * (double)i;
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                "stroke-width=\"2\"%s/>\n",
                pl + 8, y - 4, pl + 28, y - 4, col, dash);
        svg_text(f, pl + 32, y, 10, "start", s[i].name);
    }
    fputs("</g>\n", f);
#undef PX
#undef PY
}
