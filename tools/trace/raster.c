/*
 * raster.c - see raster.h.  The font is drawn by hand, 5x7 cells in rows of
 * 5 bits (the high bit on the left), as the classic character-LCD fonts.
 */
#include "raster.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    char c;
    unsigned char row[7];
} glyphs[] = {
    {'0', {0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e}}, {'1', {0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e}},
    {'2', {0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f}}, {'3', {0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e}},
    {'4', {0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02}}, {'5', {0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e}},
    {'6', {0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e}}, {'7', {0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e}}, {'9', {0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c}},
    {'a', {0x00, 0x00, 0x0e, 0x01, 0x0f, 0x11, 0x0f}}, {'b', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1e}},
    {'c', {0x00, 0x00, 0x0e, 0x10, 0x10, 0x11, 0x0e}}, {'d', {0x01, 0x01, 0x0d, 0x13, 0x11, 0x11, 0x0f}},
    {'e', {0x00, 0x00, 0x0e, 0x11, 0x1f, 0x10, 0x0e}}, {'f', {0x06, 0x09, 0x08, 0x1c, 0x08, 0x08, 0x08}},
    {'g', {0x00, 0x0f, 0x11, 0x11, 0x0f, 0x01, 0x0e}}, {'h', {0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11}},
    {'i', {0x04, 0x00, 0x0c, 0x04, 0x04, 0x04, 0x0e}}, {'j', {0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0c}},
    {'k', {0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12}}, {'l', {0x0c, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}},
    {'m', {0x00, 0x00, 0x1a, 0x15, 0x15, 0x11, 0x11}}, {'n', {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}},
    {'o', {0x00, 0x00, 0x0e, 0x11, 0x11, 0x11, 0x0e}}, {'p', {0x00, 0x00, 0x1e, 0x11, 0x1e, 0x10, 0x10}},
    {'q', {0x00, 0x00, 0x0d, 0x13, 0x0f, 0x01, 0x01}}, {'r', {0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10}},
    {'s', {0x00, 0x00, 0x0e, 0x10, 0x0e, 0x01, 0x1e}}, {'t', {0x08, 0x08, 0x1c, 0x08, 0x08, 0x09, 0x06}},
    {'u', {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0d}}, {'v', {0x00, 0x00, 0x11, 0x11, 0x11, 0x0a, 0x04}},
    {'w', {0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0a}}, {'x', {0x00, 0x00, 0x11, 0x0a, 0x04, 0x0a, 0x11}},
    {'y', {0x00, 0x00, 0x11, 0x11, 0x0f, 0x01, 0x0e}}, {'z', {0x00, 0x00, 0x1f, 0x02, 0x04, 0x08, 0x1f}},
    {'A', {0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}}, {'B', {0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e}},
    {'G', {0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f}}, {'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
    {'M', {0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11}}, {'-', {0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00}},
    {'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c}}, {',', {0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08}},
    {':', {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00}}, {';', {0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x04, 0x08}},
    {'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}}, {')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
    {'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}}, {'+', {0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00}},
};

static const unsigned char *glyph(char c)
{
    for (size_t i = 0; i < sizeof glyphs / sizeof glyphs[0]; i++)
        if (glyphs[i].c == c) return glyphs[i].row;
    if (c >= 'A' && c <= 'Z') return glyph((char)(c - 'A' + 'a')); /* capitals we lack */
    return NULL; /* a space, or a sign we lack: blank */
}

void img_new(struct image *im, size_t w, size_t h)
{
    im->w = w, im->h = h;
    im->px = malloc(w * h * 3);
    if (im->px == NULL) {
        fprintf(stderr, "analloc-trace: out of memory\n");
        exit(2);
    }
    memset(im->px, 255, w * h * 3);
}

void img_put(struct image *im, long x, long y, struct rgb c)
{
    if (x < 0 || y < 0 || (size_t)x >= im->w || (size_t)y >= im->h) return;
    unsigned char *p = im->px + 3 * ((size_t)y * im->w + (size_t)x);
    p[0] = c.r, p[1] = c.g, p[2] = c.b;
}

void img_rect(struct image *im, long x, long y, long w, long h, struct rgb c)
{
    for (long j = 0; j < h; j++)
        for (long i = 0; i < w; i++) img_put(im, x + i, y + j, c);
}

void img_line(struct image *im, double x0, double y0, double x1, double y1, struct rgb c)
{
    double dx = x1 - x0, dy = y1 - y0;
    double steps = fabs(dx) > fabs(dy) ? fabs(dx) : fabs(dy);
    if (steps < 1) steps = 1;
    if (steps > 100000) return; /* (off the picture by far: not drawn) */
    for (double i = 0; i <= steps; i++) {
        long x = lround(x0 + dx * i / steps), y = lround(y0 + dy * i / steps);
        img_put(im, x, y, c);
        img_put(im, x, y + 1, c); /* two pixels thick */
    }
}

long img_text_width(const char *s, int scale) { return (long)strlen(s) * 6 * scale; }

long img_text(struct image *im, long x, long y, const char *s, int scale, struct rgb c)
{
    long x0 = x;
    for (; *s; s++, x += 6 * scale) {
        const unsigned char *g = glyph(*s);
        if (g == NULL) continue;
        for (int r = 0; r < 7; r++)
            for (int k = 0; k < 5; k++)
                if (g[r] >> (4 - k) & 1) img_rect(im, x + k * scale, y + r * scale, scale, scale, c);
    }
    return x - x0;
}

static const struct rgb chart[] = {{0x1f, 0x77, 0xb4}, {0xd6, 0x27, 0x28}, {0x2c, 0xa0, 0x2c},
                                   {0xff, 0x7f, 0x0e}, {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b},
                                   {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f}, {0x17, 0xbe, 0xcf}};

/* Ticks at 1, 2 or 5 times a power of ten, about six of them. */
static double tick_step(double range)
{
    double raw = range / 6, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return mag * (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10);
}

static void number(char *out, size_t n, double v, double step)
{
    if (fabs(v) < step * 1e-6) v = 0; /* not "-0.0" */
    if (step >= 1) snprintf(out, n, "%.0f", v);
    else snprintf(out, n, "%.*f", (int)ceil(-log10(step)), v);
}

void img_panel(struct image *im, long left, long top, long w, long h, const char *title,
               const char *xlabel, const char *ylabel, double xmax, double ymin, double ymax,
               const struct img_series *s, size_t ns)
{
    const struct rgb ink = {0, 0, 0}, grid = {0xe4, 0xe4, 0xe4}, frame = {0x88, 0x88, 0x88};
    if (ymin == ymax) {
        ymin = 0, ymax = 0;
        for (size_t i = 0; i < ns; i++)
            for (size_t j = 0; j < s[i].n; j++)
                if (!isnan(s[i].y[j]) && s[i].y[j] > ymax) ymax = s[i].y[j];
        if (ymax <= 0) ymax = 1;
    }
    if (xmax <= 0) xmax = 1;
    img_text(im, left + w / 2 - img_text_width(title, 2) / 2, top - 24, title, 2, ink);
    double ys = tick_step(ymax - ymin), xs = tick_step(xmax);
    char buf[32];
    for (double v = ceil(ymin / ys) * ys; v <= ymax + ys * 1e-9; v += ys) {
        long y = top + h - lround((v - ymin) / (ymax - ymin) * (double)h);
        img_rect(im, left, y, w, 1, grid);
        img_rect(im, left - 4, y, 4, 1, ink);
        number(buf, sizeof buf, v, ys);
        img_text(im, left - 8 - img_text_width(buf, 1), y - 3, buf, 1, ink);
    }
    for (double v = 0; v <= xmax + xs * 1e-9; v += xs) {
        long x = left + lround(v / xmax * (double)w);
        img_rect(im, x, top, 1, h, grid);
        img_rect(im, x, top + h, 1, 4, ink);
        number(buf, sizeof buf, v, xs);
        img_text(im, x - img_text_width(buf, 1) / 2, top + h + 8, buf, 1, ink);
    }
    img_text(im, left + w / 2 - img_text_width(xlabel, 1) / 2, top + h + 22, xlabel, 1, ink);
    long lx = left - 8 - img_text_width(ylabel, 1);
    img_text(im, lx < 2 ? 2 : lx, top - 12, ylabel, 1, ink);
    for (size_t i = 0; i < ns; i++) {
        struct rgb c = chart[i % (sizeof chart / sizeof chart[0])];
        for (size_t j = 1; j < s[i].n; j++) {
            double a = s[i].y[j - 1], b = s[i].y[j];
            if (isnan(a) || isnan(b)) continue;
            img_line(im, (double)left + s[i].x[j - 1] / xmax * (double)w,
                     (double)(top + h) - (a - ymin) / (ymax - ymin) * (double)h,
                     (double)left + s[i].x[j] / xmax * (double)w,
                     (double)(top + h) - (b - ymin) / (ymax - ymin) * (double)h, c);
        }
    }
    /* the frame over the lines' ends, the legend on a white box */
    img_rect(im, left, top, w, 1, frame), img_rect(im, left, top + h, w, 1, frame);
    img_rect(im, left, top, 1, h, frame), img_rect(im, left + w, top, 1, h + 1, frame);
    for (size_t i = 0; i < ns; i++) {
        long y = top + 4 + (long)i * 12;
        img_rect(im, left + w + 12, y + 3, 18, 2, chart[i % (sizeof chart / sizeof chart[0])]);
        img_text(im, left + w + 36, y, s[i].name, 1, ink);
    }
}
