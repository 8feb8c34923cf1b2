// SPDX-License-Identifier: MIT
// LibRaw's datastreams with a read budget (see raw_stream.h for why).
#include "image/raw_stream.h"

#include <atomic>
#include <libraw/libraw.h>
#include <libraw/libraw_datastream.h>
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

} // namespace

struct pho_raw_stream {
    FileStream *file = nullptr;
    BufferStream *buffer = nullptr;
};

extern "C" int pho_image__raw_open(libraw_data_t *lr, struct pho_raw_stream **stream,
                                   const char *path, const void *data, size_t len)
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
    try {
        return raw->open_datastream(ds);
    } catch (...) {
        return LIBRAW_IO_ERROR; // not expected: LibRaw catches its own exceptions
    }
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
