#!/usr/bin/env python3
"""Write analloc's section 3 manual pages from the public headers' comments.

    tools/man.py --out DIR include/analloc.h include/analloc/buddy.h ...
    tools/man.py --list include/analloc.h ...     (the file names, one a line)

The headers are the single source of every contract: this script only
rearranges their comments and declarations into roff.  Pages:

  analloc(3)            the top comment of analloc.h (what the library is,
                        COST, ERRORS, LOCKING), its version, error codes and
                        the allocator struct, and an index of the pages;
  one page per section of analloc.h (the "/* ---- Title ---- */" lines),
                        named after the section's first function;
  analloc_buddy(3), analloc_bitvector(3)   one page per other header;
  NAME.3 holding ".so man3/PAGE.3" for every other function or
                        function-like macro, so that `man analloc_free` works.

A comment directly above a declaration documents it; a comment followed by
a blank line is prose.  Inside a comment a blank line ends a paragraph and
lines indented by two spaces or more are kept as they are (tables).
Function bodies (the bit vector header's inline functions) are cut to their
signatures, and names ending in `_` and the header's own configuration
macros are left out.  Output depends on the headers only: no date.
"""
import os
import re
import sys

PUBLIC_PREFIXES = ("analloc_", "buddy_", "bv_", "ANALLOC_", "BUDDY_", "BV_")


def version(text):
    parts = []
    for p in ("MAJOR", "MINOR", "PATCH"):
        m = re.search(r"^#define ANALLOC_VERSION_%s (\d+)" % p, text, re.M)
        parts.append(m.group(1) if m else "0")
    return ".".join(parts)


# ---- parsing ---------------------------------------------------------------

def comment_lines(block):
    """The text of a /* ... */ block, one string per line, prefixes removed."""
    lines = block.split("\n")
    out = []
    for i, line in enumerate(lines):
        s = line
        if i == 0:
            s = s.split("/*", 1)[1]
        if s.rstrip().endswith("*/"):
            s = s.rstrip()[:-2]
        s = s.rstrip()
        st = s.lstrip()
        if i > 0 and st.startswith("*"):
            s = st[1:]
            if s.startswith(" "):
                s = s[1:]
        elif i > 0:
            s = st
        out.append(s.rstrip() if i else s.strip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return out


def is_internal_define(line):
    m = re.match(r"#\s*define\s+(\w+)", line)
    if not m:
        return False
    name = m.group(1)
    return (name.endswith("_") or name.endswith("_H") or "_HAVE_" in name
            or not name.startswith(PUBLIC_PREFIXES))


def parse(path):
    """Split a header into sections of items.

    Returns (top comment lines, [(title, [item])]) where an item is
    (comment lines or None, code lines or None)."""
    text = open(path, encoding="utf-8").read()
    top_m = re.match(r"\s*(/\*.*?\*/)", text, re.S)
    top = comment_lines(top_m.group(1))
    rest = text[top_m.end():]
    lines = rest.split("\n")
    sections = [("", [])]
    pending = None  # a comment waiting for the code it documents
    code = []
    depth = 0
    in_fn_body = False
    i = 0

    def flush_code():
        nonlocal code, pending
        if code:
            sections[-1][1].append((pending, code))
            pending = None
        code = []

    def flush_pending():
        nonlocal pending
        if pending is not None:
            sections[-1][1].append((pending, None))
            pending = None

    while i < len(lines):
        line = lines[i]
        st = line.strip()
        if depth == 0 and st.startswith("/*") and not code:
            j = i
            block = line
            while "*/" not in lines[j]:
                j += 1
                block += "\n" + lines[j]
            i = j + 1
            text_lines = comment_lines(block)
            m = re.match(r"-{4}\s*(.*?)\s*-*$", text_lines[0]) if text_lines else None
            if m:
                flush_pending()
                sections.append((m.group(1), []))
                body = text_lines[1:]
                if any(s.strip() for s in body):
                    sections[-1][1].append((body, None))
                continue
            flush_pending()
            pending = text_lines
            # A blank line after the comment: it is prose, not a doc comment.
            if i < len(lines) and not lines[i].strip():
                flush_pending()
            continue
        if depth == 0 and not st:
            flush_code()
            flush_pending()
            i += 1
            continue
        if depth == 0 and st.startswith("#"):
            # Preprocessor lines at the top level: keep public #defines only
            # (with their continuation lines).
            full = [line]
            while full[-1].rstrip().endswith("\\"):
                i += 1
                full.append(lines[i])
            i += 1
            if re.match(r"#\s*define\b", st) and not is_internal_define(st):
                code.extend(full)
            continue
        if depth == 0 and re.match(r'(extern "C"|}\s*$)', st) and not in_fn_body and not code:
            i += 1
            continue
        # C code: count braces (comments inside a line are kept as they are).
        bare = re.sub(r"/\*.*?\*/", "", line)
        bare = re.sub(r"//.*", "", bare)
        if depth == 0 and "(" in bare and "{" in bare and not re.match(r"\s*(struct|enum|union|typedef)\b", bare):
            # A function with its body: keep the signature only.
            sig = line[:line.index("{")].rstrip() + ";"
            code.append(sig)
            in_fn_body = True
        elif depth == 0 and not in_fn_body and code and code[-1].rstrip().endswith(")") \
                and st == "{":
            # The body of a function whose signature ended on the line above.
            code[-1] = code[-1].rstrip() + ";"
            in_fn_body = True
        elif not in_fn_body:
            code.append(line)
        depth += bare.count("{") - bare.count("}")
        if depth == 0 and in_fn_body:
            in_fn_body = False
        i += 1
    flush_code()
    flush_pending()
    return top, [(t, items) for t, items in sections if items]


DECL_FN = re.compile(r"\b((?:analloc|buddy|bv)_\w+)\s*\(")
DECL_MACRO = re.compile(r"#\s*define\s+((?:ANALLOC|BUDDY|BV)_\w+)\(")


def names_in(code):
    """Functions and function-like macros a code chunk declares."""
    names = []
    for line in code:
        m = DECL_MACRO.match(line.strip())
        if m and not m.group(1).endswith("_"):
            names.append(m.group(1))
            continue
        if line.strip().startswith("#") or line.startswith((" ", "\t")):
            continue
        m = DECL_FN.search(line)
        if m and not m.group(1).endswith("_") and not line.lstrip().startswith(("typedef", "/*")):
            names.append(m.group(1))
    return names


# ---- roff --------------------------------------------------------------------

def esc(s):
    s = s.replace("\\", "\\e")
    if s.startswith((".", "'")):
        s = "\\&" + s
    return s


def inline(s):
    """Prose: `word` in italics, the rest escaped."""
    s = esc(s.strip())
    return re.sub(r"`([^`]+)`", r"\\fI\1\\fP", s)


def prose(lines):
    """Comment lines to roff paragraphs; indented runs stay verbatim."""
    out = []
    para = []
    verb = []

    def end_para():
        if para:
            out.append(".PP")
            out.extend(inline(p) for p in para)
            para.clear()

    def end_verb():
        if verb:
            out.extend([".PP", ".RS 2", ".nf"])
            out.extend(esc(v) for v in verb)
            out.extend([".fi", ".RE"])
            verb.clear()

    for ln in lines:
        if not ln.strip():
            end_para()
            end_verb()
        elif ln.startswith("  "):
            end_para()
            verb.append(ln.rstrip())
        else:
            end_verb()
            para.append(ln)
    end_para()
    end_verb()
    return out


def code_block(code):
    out = [".PP", ".RS 2", ".nf", ".ft CR"]
    out.extend(esc(c.rstrip()) for c in code)
    out.extend([".ft", ".fi", ".RE"])
    return out


def th(name, ver, title, names=()):
    listed = [name] + [n for n in names if n != name]
    return ['.\\" Generated by tools/man.py from the headers; edit them, not this page.',
            '.TH %s 3 "" "analloc %s" "analloc manual"' % (name.upper(), ver),
            ".nh", ".ad l", ".SH NAME",
            "%s \\- %s" % (", ".join(esc(n) for n in listed), esc(title))]


def synopsis(include, items):
    out = [".SH SYNOPSIS", ".nf", ".ft CR", "#include <%s>" % include]
    for _, code in items:
        if not code:
            continue
        if names_in(code):
            out.append("")
            out.extend(esc(c.rstrip()) for c in code)
    out.extend([".ft", ".fi"])
    return out


def description(items):
    out = [".SH DESCRIPTION"]
    for comment, code in items:
        if comment:
            out.extend(prose(comment))
        if code:
            out.extend(code_block(code))
    return out


def page_of(section_items):
    names = []
    for _, code in section_items:
        if code:
            names.extend(n for n in names_in(code) if n not in names)
    return names


def first_paragraph(top):
    """The header's one-line summary and the rest of its top comment."""
    k = 0
    while k < len(top) and top[k].strip():
        k += 1
    summary = " ".join(t.strip() for t in top[:k])
    if " - " in summary:
        summary = summary.split(" - ", 1)[1]
    return summary.rstrip("."), top[k:]


def build(headers):
    """{file name: text} of every page."""
    texts = {h: open(h, encoding="utf-8").read() for h in headers}
    ver = version(texts[headers[0]])
    pages = {}      # page name -> (title, include, items, names)
    order = []
    overview = None
    for h in headers:
        include = h.split("include/", 1)[-1]
        top, sections = parse(h)
        if include == "analloc.h":
            overview = (top, sections[0][1] if not sections[0][0] else [])
            for title, items in sections:
                if not title:
                    continue
                names = page_of(items)
                # A section without a function is named after its title.
                page = names[0] if names else \
                    "analloc_" + re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
                pages[page] = (title, include, items, names)
                order.append(page)
        else:
            base = "analloc_" + os.path.splitext(os.path.basename(h))[0]
            items = [it for _, its in sections for it in its]
            names = page_of(items)
            title, top_prose = first_paragraph(top)
            items = [(top_prose, None)] + items
            pages[base] = (title, include, items, [base] + names)
            order.append(base)

    files = {}
    see_also = ["analloc"] + order
    for name in order:
        title, include, items, names = pages[name]
        out = th(name, ver, title[0].lower() + title[1:], names)
        out.extend(synopsis(include, items))
        out.extend(description(items))
        out.append(".SH SEE ALSO")
        refs = [s for s in see_also if s != name]
        out.extend(".BR %s (3)%s" % (esc(r), "," if k < len(refs) - 1 else "")
                   for k, r in enumerate(refs))
        files[name + ".3"] = "\n".join(out) + "\n"
        for n in names:
            if n != name:
                files[n + ".3"] = ".so man3/%s.3\n" % name

    # The overview.
    top, pre_items = overview
    title, body = first_paragraph(top)
    out = th("analloc", ver, title, page_of(pre_items))
    out.extend([".SH SYNOPSIS", ".nf", ".ft CR", "#include <analloc.h>", ""])
    out.extend(esc(c.rstrip()) for _, code in pre_items if code and names_in(code)
               for c in code)
    out.extend([".ft", ".fi", ".SH DESCRIPTION"])
    # "WORD.  text" opens a subsection.
    chunks, cur = [], []
    for ln in body:
        m = re.match(r"([A-Z][A-Z ]+)\.\s+(.*)", ln)
        if m:
            chunks.append(cur)
            cur = [(m.group(1), None), m.group(2)]
        else:
            cur.append(ln)
    chunks.append(cur)
    for ch in chunks:
        if ch and isinstance(ch[0], tuple):
            out.append(".SS %s" % ch[0][0].capitalize())
            ch = ch[1:]
        out.extend(prose(ch))
    out.append(".SS Version, errors and the allocator")
    out.extend(description(pre_items)[1:])
    out.append(".SH FUNCTIONS")
    for name in order:
        title, _, _, names = pages[name]
        out.extend([".TP", ".BR %s (3)" % esc(name), esc(title) + ":",
                    ", ".join(esc(n) for n in names if n != name) or esc(name)])
    out.append(".SH SEE ALSO")
    out.extend(".BR %s (3)%s" % (esc(r), "," if k < len(order) - 1 else "")
               for k, r in enumerate(order))
    files["analloc.3"] = "\n".join(out) + "\n"
    for n in page_of(pre_items):
        files.setdefault(n + ".3", ".so man3/analloc.3\n")
    return files


def main(argv):
    out_dir = None
    listing = False
    headers = []
    k = 1
    while k < len(argv):
        if argv[k] == "--out":
            out_dir = argv[k + 1]
            k += 2
        elif argv[k] == "--list":
            listing = True
            k += 1
        else:
            headers.append(argv[k])
            k += 1
    if not headers or (out_dir is None) == (not listing):
        sys.stderr.write(__doc__)
        return 2
    files = build(headers)
    if listing:
        print("\n".join(sorted(files)))
        return 0
    os.makedirs(out_dir, exist_ok=True)
    for name in sorted(files):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            f.write(files[name])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
