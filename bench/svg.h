/*
 * svg.h - just enough SVG to draw line charts for the benchmarks, so that the
 * suite needs no plotting program.
 */
#ifndef BENCH_SVG_H
#define BENCH_SVG_H

#include <stddef.h>
#include <stdio.h>

struct svg_series {
    const char *name;
    const double *x, *y; /* points; NaN y values are gaps */
    size_t n;
    int style;           /* index into the built-in colours and dashes */
    int markers;         /* draw a dot at every point */
};

struct svg_panel {
    double left, top, width, height; /* placement in the picture, px */
    const char *title, *xlabel, *ylabel;
    double xmin, xmax;               /* x axis, linear in the given values */
    const double *xticks;            /* tick positions (NULL: automatic) */
    const char *const *xtick_labels; /* their labels (NULL: the numbers) */
    size_t nxticks;
    int ylog;                        /* logarithmic y axis */
    double ymin, ymax;               /* 0, 0: from the data */
    const char *note;                /* a line of small print under the title, or NULL */
};

void svg_begin(FILE *f, double width, double height, const char *title);
void svg_text(FILE *f, double x, double y, double size, const char *anchor, const char *text);
void svg_panel(FILE *f, const struct svg_panel *p, const struct svg_series *s, size_t ns);
void svg_end(FILE *f);

#endif /* BENCH_SVG_H */
