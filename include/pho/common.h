/* SPDX-License-Identifier: MIT */
/**
 * @file common.h
 * Export and attribute macros shared by every public libpho header.
 */
#ifndef PHO_COMMON_H
#define PHO_COMMON_H

#if defined(__GNUC__) || defined(__clang__)
#    define PHO_API              __attribute__((visibility("default")))
#    define PHO_PRINTF(fmt, arg) __attribute__((format(printf, fmt, arg)))
#    define PHO_NODISCARD        __attribute__((warn_unused_result))
#else
#    define PHO_API
#    define PHO_PRINTF(fmt, arg)
#    define PHO_NODISCARD
#endif

#ifdef __cplusplus
#    define PHO_BEGIN_DECLS extern "C" {
#    define PHO_END_DECLS   }
#else
#    define PHO_BEGIN_DECLS
#    define PHO_END_DECLS
#endif

PHO_BEGIN_DECLS

/** Frees memory the library handed to the caller (where a function says so); NULL is a
 *  no-op. */
PHO_API void pho_free(void *p);

PHO_END_DECLS

#endif /* PHO_COMMON_H */
