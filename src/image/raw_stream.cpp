// SPDX-License-Identifier: MIT
// LibRaw's datastreams with a read budget (see raw_stream.h for why).
#include "image/raw_stream.h"

#include <algorithm>
#include <atomic>
#include <libraw/libraw.h>
#include <libraw/libraw_datastream.h>
#include <libraw/libraw_internal.h>
#include <new>

namespace
{

// Calls allowed: a fixed floor for the container walk (real files take about a
// thousand: 372 to 1,262 for the test RAWs), plus 16 per byte of the
// file, since LibRaw's bit readers take some formats a byte at a time (one
// get_char per byte for a whole decode) and re-read tiles. A real RAW stays
// well under it; a loop over a bogus count spends it in well under a second.
constexpr unsigned long long kFloor = 1ull << 20;
constexpr unsigned long long kPerByte = 16;

template <class Base> class Budgeted final : public Base
{
  public:
    template <class... Args> explicit Budgeted(Args &&...args) : Base(args...)
    {
    }

    void set_budget(unsigned long long calls)
    {
        left_.store(calls, std::memory_order_relaxed);
    }
    bool spent() const
    {
        return spent_.load(std::memory_order_relaxed);
    }
    unsigned long long calls() const
    {
        return calls_.load(std::memory_order_relaxed);
    }

    int read(void *ptr, size_t sz, size_t nmemb) override
    {
        spend();
        return Base::read(ptr, sz, nmemb);
    }
    int seek(INT64 o, int whence) override
    {
        spend();
        return Base::seek(o, whence);
    }
    int get_char() override
    {
        spend();
        return Base::get_char();
    }
    char *gets(char *s, int sz) override
    {
        spend();
        return Base::gets(s, sz);
    }
    int scanf_one(const char *fmt, void *val) override
    {
        spend();
        return Base::scanf_one(fmt, val);
    }

  private:
    void spend()
    {
        calls_.fetch_add(1, std::memory_order_relaxed);
        if (left_.fetch_sub(1, std::memory_order_relaxed) == 0) {
            left_.store(0, std::memory_order_relaxed);
            spent_.store(true, std::memory_order_relaxed);
            // LibRaw's own way to abandon a file: its entry points catch this
            // and return LIBRAW_IO_ERROR.
            throw LIBRAW_EXCEPTION_IO_CORRUPT;
        }
    }

    std::atomic<unsigned long long> left_{ 0 };
    std::atomic<unsigned long long> calls_{ 0 };
    std::atomic<bool> spent_{ false };
};

using FileStream = Budgeted<LibRaw_bigfile_datastream>;
using BufferStream = Budgeted<LibRaw_buffer_datastream>;

// LibRaw calls this for every entry of every IFD it walks, with the stream
// positioned at the entry's value. The high bits of @tag say which directory:
// none for the EXIF sub-IFD, 0x50000 for GPS, (n + 1) << 20 for the n-th TIFF
// IFD (IFD0 is the first), 0x30000 for a Panasonic RW2's IFD0.
void on_exif_tag(void *ctx, int tag, int type, int len, unsigned int ord, void *ifp, INT64 base)
{
    (void)base;
    auto *sink = static_cast<struct pho_exif_tags *>(ctx);
    unsigned group = static_cast<unsigned>(tag) >> 16;
    unsigned id = static_cast<unsigned>(tag) & 0xffff;
    enum pho_exif_dir dir;
    if (group == 0)
        dir = PHO_EXIF_DIR_EXIF;
    else if (group == 0x5)
        dir = PHO_EXIF_DIR_GPS;
    else if (group == 0x10 || group == 0x3)
        dir = PHO_EXIF_DIR_0;
    else
        return;
    size_t want = pho_exif_tags_wanted(dir, id);
    size_t unit = type > 0 ? pho_exif_tags_type_size(static_cast<unsigned>(type)) : 0;
    if (!want || !unit || len <= 0 || pho_exif_tags_get(sink, dir, id))
        return;
    size_t n = std::min(want, unit * static_cast<size_t>(len));
    unsigned char buf[PHO_EXIF_VALUE_MAX];
    auto *ds = static_cast<LibRaw_abstract_datastream *>(ifp);
    int got = ds->read(buf, 1, n);
    if (got <= 0)
        return;
    pho_exif_tags_add(sink, dir, id, static_cast<unsigned>(type), static_cast<uint32_t>(len), buf,
                      static_cast<size_t>(got), ord == 0x4d4d);
}

} // namespace

struct pho_raw_stream {
    FileStream *file = nullptr;
    BufferStream *buffer = nullptr;
};

extern "C" int pho_image__raw_open(libraw_data_t *lr, struct pho_raw_stream **stream,
                                   const char *path, const void *data, size_t len,
                                   struct pho_exif_tags *tags)
{
    *stream = nullptr;
    auto *s = new (std::nothrow) pho_raw_stream;
    if (!s)
        return LIBRAW_UNSUFFICIENT_MEMORY;
    LibRaw_abstract_datastream *ds = nullptr;
    try {
        if (path) {
            s->file = new FileStream(path);
            ds = s->file;
        } else {
            s->buffer = new BufferStream(const_cast<void *>(data), len);
            ds = s->buffer;
        }
    } catch (...) {
        delete s;
        return LIBRAW_UNSUFFICIENT_MEMORY;
    }
    *stream = s;
    if (!ds->valid())
        return LIBRAW_IO_ERROR;
    long long size = ds->size();
    unsigned long long budget = kFloor + kPerByte * (unsigned long long)(size > 0 ? size : 0);
    if (s->file)
        s->file->set_budget(budget);
    else
        s->buffer->set_budget(budget);
    auto *raw = static_cast<LibRaw *>(lr->parent_class);
    if (tags)
        raw->set_exifparser_handler(on_exif_tag, tags);
    try {
        return raw->open_datastream(ds);
    } catch (...) {
        return LIBRAW_IO_ERROR; // not expected: LibRaw catches its own exceptions
    }
}

extern "C" void pho_image__raw_extent(const libraw_data_t *lr, struct pho_raw_extent *out)
{
    *out = pho_raw_extent{};
    auto *raw = static_cast<LibRaw *>(lr->parent_class);
    const libraw_internal_data_t *in = raw->get_internal_data_pointer();
    out->data_offset = in->unpacker_data.data_offset;
    out->data_size = in->unpacker_data.data_size;
    out->thumb_offset = in->internal_data.toffset;
    LibRaw_abstract_datastream *ds = in->internal_data.input;
    out->file_size = ds ? ds->size() : -1;
}

extern "C" bool pho_image__raw_stream_spent(const struct pho_raw_stream *s)
{
    return s && ((s->file && s->file->spent()) || (s->buffer && s->buffer->spent()));
}

extern "C" unsigned long long pho_image__raw_stream_calls(const struct pho_raw_stream *s)
{
    if (!s)
        return 0;
    return s->file ? s->file->calls() : s->buffer ? s->buffer->calls() : 0;
}

extern "C" void pho_image__raw_stream_free(struct pho_raw_stream *s)
{
    if (!s)
        return;
    delete s->file;
    delete s->buffer;
    delete s;
}
