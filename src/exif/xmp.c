/* SPDX-License-Identifier: MIT */
/*
 * Capture time from an XMP packet, parsed with libxml2: for photos whose
 * only date is in XMP (exported by editors, or tagged by a DAM), which would
 * otherwise fall back to the file's mtime. (Exempi, the XMP toolkit, prints
 * parse failures to stderr, and damaged packets are common; the library
 * never prints.)
 *
 * A property is either an attribute of an rdf:Description or an element
 * inside one; both are found by namespace URI and local name, whatever
 * prefix the writer chose. The dates are kept as the strings XMP stores
 * (ISO 8601, "2019-11-12T11:10:24.187+01:00") because only the string says
 * whether a zone was given at all.
 */
#include "core/common.h"

#include <pthread.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "exif/tags.h"
#include "pho/exif.h"

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_start(void)
{
    xmlInitParser();
}

/* "YYYY-MM-DDThh:mm[:ss][.fff][Z|±hh:mm]" -> a pho_time; false when not a full date and time. */
static bool parse_iso(struct pho_time *out, const char *s)
{
    size_t n = strlen(s);
    if (n < 16 || s[10] != 'T')
        return false;
    char base[20];
    size_t at;
    if (n >= 19 && s[16] == ':') {
        memcpy(base, s, 19);
        at = 19;
    } else {
        memcpy(base, s, 16); /* minutes only: XMP allows it */
        memcpy(base + 16, ":00", 3);
        at = 16;
    }
    base[19] = '\0';
    memset(out, 0, sizeof(*out));
    if (pho_time_parse_exif(&out->local, base) != 0)
        return false;
    if (s[at] == '.') {
        char frac[16];
        size_t k = 0;
        for (at++; s[at] >= '0' && s[at] <= '9'; at++)
            if (k + 1 < sizeof(frac))
                frac[k++] = s[at];
        frac[k] = '\0';
        int32_t ns = pho_time_parse_subsec(frac);
        if (ns > 0)
            out->nsec = ns;
    }
    if (s[at] == 'Z') {
        out->has_offset = true;
    } else if ((s[at] == '+' || s[at] == '-') && pho_time_parse_offset(&out->offset_min, s + at)) {
        out->has_offset = true;
    }
    return true;
}

/* The capture-time properties, most specific first (the order ExifTool and
 * the Metadata Working Group's guidelines give them). */
static const struct {
    const char *ns;
    const char *name;
} dates[] = {
    { "http://ns.adobe.com/exif/1.0/", "DateTimeOriginal" },
    { "http://ns.adobe.com/photoshop/1.0/", "DateCreated" },
    { "http://ns.adobe.com/xap/1.0/", "CreateDate" },
};

static int which_date(const xmlNs *ns, const xmlChar *name)
{
    if (!ns || !ns->href || !name)
        return -1;
    for (size_t i = 0; i < PHO_ARRAY_LEN(dates); i++)
        if (!strcmp((const char *)ns->href, dates[i].ns) &&
            !strcmp((const char *)name, dates[i].name))
            return (int)i;
    return -1;
}

/* Keeps the value of @node when it is date property @i and no better one was found yet. */
static void offer(struct pho_time *best, int *best_i, int i, xmlNode *node)
{
    if (i < 0 || i >= *best_i)
        return;
    xmlChar *value = xmlNodeGetContent(node);
    struct pho_time t;
    if (value && parse_iso(&t, (const char *)value)) {
        *best = t;
        *best_i = i;
    }
    xmlFree(value);
}

int pho_xmp_parse(struct pho_meta *m, const void *data, size_t len, struct pho_err *err)
{
    if (!data || len == 0 || len > 64u * 1024 * 1024)
        return pho_err_set(err, PHO_ECORRUPT, "xmp: empty or oversized packet (%zu bytes)", len);
    /* Most photos have an EXIF date as good: then the packet is not even parsed. */
    if (pho_exif_time_rank(m->time.source) <= pho_exif_time_rank(PHO_TIME_XMP))
        return 0;
    pthread_once(&xml_once, xml_start);
    /* No network, no entity substitution (no XXE), no messages. */
    xmlDocPtr doc = xmlReadMemory(data, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return pho_err_set(err, PHO_ECORRUPT, "xmp: not a readable XMP packet");
    struct pho_time best;
    int best_i = (int)PHO_ARRAY_LEN(dates);
    /* Depth-first walk without recursion: hostile nesting cannot overflow the stack. */
    xmlNode *root = xmlDocGetRootElement(doc);
    for (xmlNode *n = root; n;) {
        if (n->type == XML_ELEMENT_NODE) {
            offer(&best, &best_i, which_date(n->ns, n->name), n);
            for (xmlAttr *a = n->properties; a; a = a->next)
                offer(&best, &best_i, which_date(a->ns, a->name), (xmlNode *)a);
        }
        if (n->children && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            continue;
        }
        while (n && n != root && !n->next)
            n = n->parent;
        if (!n || n == root)
            break;
        n = n->next;
    }
    xmlFreeDoc(doc);
    if (best_i < (int)PHO_ARRAY_LEN(dates)) {
        best.source = PHO_TIME_XMP;
        m->time = best;
    }
    return 0;
}
