// SPDX-License-Identifier: MIT
// XMP documents through Exiv2 (see xmp_shim.h): parse, edit by key, serialise.
#include "exif/xmp_shim.h"

#include <cstdlib>
#include <cstring>
#include <exiv2/exiv2.hpp>
#include <mutex>
#include <new>
#include <string>

struct pho_xmp_doc {
    Exiv2::XmpData data;
};

namespace
{

// Exiv2 reports through one process-wide handler; the library never prints, so the last
// message of this thread is kept to explain a failure.
thread_local std::string last_message;

void take_message(int level, const char *msg)
{
    (void)level;
    last_message = msg ? msg : "";
    while (!last_message.empty() && (last_message.back() == '\n' || last_message.back() == ' '))
        last_message.pop_back();
}

std::mutex toolkit_lock;

void lock_toolkit(void *, bool lock)
{
    if (lock)
        toolkit_lock.lock();
    else
        toolkit_lock.unlock();
}

std::once_flag once;
bool ready;

bool setup()
{
    std::call_once(once, [] {
        Exiv2::LogMsg::setHandler(take_message);
        try {
            ready = Exiv2::XmpParser::initialize(lock_toolkit, nullptr);
            Exiv2::XmpProperties::registerNs(PHO_XMP_NS, PHO_XMP_PREFIX);
        } catch (...) {
            ready = false;
        }
    });
    return ready;
}

void say(char *why, size_t size, const std::string &text)
{
    if (why && size) {
        std::strncpy(why, text.c_str(), size - 1);
        why[size - 1] = '\0';
    }
}

char *dup(const std::string &s)
{
    char *p = static_cast<char *>(std::malloc(s.size() + 1));
    if (p)
        std::memcpy(p, s.c_str(), s.size() + 1);
    return p;
}

void erase_key(Exiv2::XmpData &data, const std::string &key)
{
    for (auto it = data.begin(); it != data.end();) {
        if (it->key() == key)
            it = data.erase(it);
        else
            ++it;
    }
}

} // namespace

extern "C" int pho_xmp__doc_parse(pho_xmp_doc **out, const char *text, size_t len, char *why,
                                  size_t why_size)
{
    *out = nullptr;
    if (!setup()) {
        say(why, why_size, "the XMP toolkit could not be set up");
        return PHO_XMP_BAD;
    }
    auto *doc = new (std::nothrow) pho_xmp_doc;
    if (!doc)
        return PHO_XMP_NOMEM;
    try {
        std::string packet(text ? text : "", text ? len : 0);
        last_message.clear();
        if (Exiv2::XmpParser::decode(doc->data, packet) != 0) {
            say(why, why_size, last_message.empty() ? "not an XMP packet" : last_message);
            delete doc;
            return PHO_XMP_BAD;
        }
        // Well-formed XML with no RDF in it is some other file, not a sidecar to merge into.
        if (doc->data.empty() && packet.find_first_not_of(" \t\r\n") != std::string::npos &&
            packet.find("RDF") == std::string::npos) {
            say(why, why_size, "holds no XMP (no rdf:RDF element)");
            delete doc;
            return PHO_XMP_BAD;
        }
    } catch (const std::bad_alloc &) {
        delete doc;
        return PHO_XMP_NOMEM;
    } catch (const std::exception &e) {
        say(why, why_size, e.what());
        delete doc;
        return PHO_XMP_BAD;
    } catch (...) {
        say(why, why_size, "not an XMP packet");
        delete doc;
        return PHO_XMP_BAD;
    }
    *out = doc;
    return PHO_XMP_OK;
}

extern "C" void pho_xmp__doc_free(pho_xmp_doc *doc)
{
    delete doc;
}

extern "C" int pho_xmp__doc_get(char ***items, size_t *n, const pho_xmp_doc *doc, const char *key)
{
    *items = nullptr;
    *n = 0;
    try {
        for (const auto &md : doc->data) {
            if (md.key() != key)
                continue;
            // count() of a simple property is its length in characters: one value then.
            Exiv2::TypeId t = md.typeId();
            bool array = t == Exiv2::xmpBag || t == Exiv2::xmpSeq || t == Exiv2::xmpAlt;
            long count = array ? md.count() : 1;
            if (count <= 0)
                return PHO_XMP_OK;
            char **v = static_cast<char **>(std::calloc((size_t)count, sizeof(char *)));
            if (!v)
                return PHO_XMP_NOMEM;
            for (long i = 0; i < count; i++) {
                if (!(v[i] = dup(array ? md.toString(i) : md.toString()))) {
                    pho_xmp__strv_free(v, (size_t)i);
                    return PHO_XMP_NOMEM;
                }
            }
            *items = v;
            *n = (size_t)count;
            return PHO_XMP_OK;
        }
    } catch (const std::bad_alloc &) {
        return PHO_XMP_NOMEM;
    } catch (...) {
        return PHO_XMP_BAD;
    }
    return PHO_XMP_OK;
}

extern "C" void pho_xmp__strv_free(char **items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        std::free(items[i]);
    std::free(items);
}

// Replaces the value of @key in place (so a re-run that changes nothing writes the same
// text, and properties keep the order they had), adds it when missing, removes it when
// @value is null.
static void put(Exiv2::XmpData &data, const std::string &key, const Exiv2::Value *value)
{
    for (auto it = data.begin(); it != data.end(); ++it) {
        if (it->key() != key)
            continue;
        if (!value) {
            erase_key(data, key);
        } else if (it->typeId() != value->typeId() || it->toString() != value->toString()) {
            it->setValue(value);
        }
        return;
    }
    if (value)
        data.add(Exiv2::XmpKey(key), value);
}

// Runs an edit; what it throws becomes a status.
template <class Edit> static int guarded(Edit &&edit)
{
    try {
        edit();
    } catch (const std::bad_alloc &) {
        return PHO_XMP_NOMEM;
    } catch (...) {
        return PHO_XMP_BAD;
    }
    return PHO_XMP_OK;
}

extern "C" int pho_xmp__doc_set_text(pho_xmp_doc *doc, const char *key, const char *value)
{
    return guarded([&] {
        if (!value)
            return put(doc->data, key, nullptr);
        Exiv2::XmpTextValue v(value);
        put(doc->data, key, &v);
    });
}

extern "C" int pho_xmp__doc_set_bag(pho_xmp_doc *doc, const char *key, const char *const *items,
                                    size_t n)
{
    return guarded([&] {
        if (!n)
            return put(doc->data, key, nullptr);
        Exiv2::XmpArrayValue v(Exiv2::xmpBag);
        for (size_t i = 0; i < n; i++)
            v.read(items[i]);
        put(doc->data, key, &v);
    });
}

extern "C" void pho_xmp__doc_drop(pho_xmp_doc *doc, const char *prefix)
{
    size_t len = std::strlen(prefix);
    for (auto it = doc->data.begin(); it != doc->data.end();) {
        if (it->key().compare(0, len, prefix) == 0)
            it = doc->data.erase(it);
        else
            ++it;
    }
}

extern "C" int pho_xmp__doc_empty(const pho_xmp_doc *doc)
{
    return doc->data.empty();
}

extern "C" int pho_xmp__doc_serialize(char **out, size_t *len, const pho_xmp_doc *doc, char *why,
                                      size_t why_size)
{
    *out = nullptr;
    *len = 0;
    try {
        std::string packet;
        last_message.clear();
        if (Exiv2::XmpParser::encode(packet, doc->data, Exiv2::XmpParser::omitPacketWrapper) != 0) {
            say(why, why_size, last_message.empty() ? "XMP could not be written" : last_message);
            return PHO_XMP_BAD;
        }
        if (packet.empty() || packet.back() != '\n')
            packet += '\n';
        if (!(*out = dup(packet)))
            return PHO_XMP_NOMEM;
        *len = packet.size();
    } catch (const std::bad_alloc &) {
        return PHO_XMP_NOMEM;
    } catch (const std::exception &e) {
        say(why, why_size, e.what());
        return PHO_XMP_BAD;
    }
    return PHO_XMP_OK;
}

extern "C" void pho_xmp__text_free(char *text)
{
    std::free(text);
}
