/* SPDX-License-Identifier: MIT */
/*
 * A Live Photo's video names its still: Apple writes the same content
 * identifier into the MOV's QuickTime metadata
 * (com.apple.quicktime.content.identifier) and into the still's maker note
 * (src/exif/exif.c). libavformat reads the container's metadata; only the
 * header is parsed, no stream is opened or decoded.
 */
#include "core/common.h"

#include <pthread.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/log.h>

#include "pho/shot.h"

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

/* The library never prints: libavformat's own messages are silenced. */
static void quiet(void)
{
    av_log_set_level(AV_LOG_QUIET);
}

int pho_shot_video_content_id(char *out, size_t size, const char *path, struct pho_err *err)
{
    pthread_once(&quiet_once, quiet);
    if (size)
        out[0] = '\0';
    AVFormatContext *ctx = NULL;
    int av = avformat_open_input(&ctx, path, NULL, NULL);
    if (av < 0) {
        char why[128];
        av_strerror(av, why, sizeof(why));
        return pho_err_set(err, av == AVERROR(ENOENT) ? PHO_ENOTFOUND : PHO_ECORRUPT,
                           "video: %s: %s", path, why);
    }
    const AVDictionaryEntry *e =
            av_dict_get(ctx->metadata, "com.apple.quicktime.content.identifier", NULL, 0);
    if (e && e->value && size)
        pho_strlcpy(out, e->value, size);
    avformat_close_input(&ctx);
    return 0;
}
