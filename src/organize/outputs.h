/* SPDX-License-Identifier: MIT */
/*
 * Private to src/organize: the files of OUT this run makes, shared by the write stage
 * (write.c: group files, metadata.txt) and its sidecars (write_xmp.c). Whose each file is
 * follows docs/catalog.md: ours while it is what the catalog recorded.
 */
#ifndef PHO_ORGANIZE_OUTPUTS_H
#define PHO_ORGANIZE_OUTPUTS_H

#include "core/common.h"

#include "organize/internal.h"
#include "organize/run.h"
#include "pho/catalog.h"

struct pho_organize__outputs {
    struct pho_output_file *files; /* recorded by earlier runs, sorted by rel */
    size_t count;
    char **planned; /* this run's files (sorted before stale ones are removed) */
    size_t nplanned, cap;
    struct pho_batch *stage; /* the group being written: files put in place together */
};

/* What an earlier run recorded at @rel, or NULL. */
const struct pho_output_file *pho_organize__out_recorded(const struct pho_organize__outputs *outs,
                                                         const char *rel);
/* Whether the file at @path is still as the catalog recorded it (ours to replace). */
bool pho_organize__out_still_ours(const char *path, const struct pho_output_file *f);
/* Notes @rel as part of this run's result (never removed as stale). */
int pho_organize__out_planned(struct pho_organize__outputs *outs, const char *rel);
/* True when @path holds exactly @len bytes equal to @text. */
bool pho_organize__out_holds(const char *path, const char *text, size_t len);
/* A file this run made is in place: the catalog records it, the counts say how. */
int pho_organize__out_record(struct run *run, const char *rel, const struct pho_copy_info *info,
                             enum pho_link_mode kind, struct pho_err *err);
/* The file just staged in outs->stage is to be recorded as @rel once in place. */
int pho_organize__out_staged(struct pho_organize__outputs *outs, const char *rel,
                             const struct pho_copy_info *info, int kind, struct pho_err *err);

/* Records the files of @stage that are in place (after pho_organize__batch_commit). */
int pho_organize__out_record_placed(struct run *run, const struct pho_batch *stage,
                                    struct pho_err *err);
/* Makes @rel from source file @path as --link says (a copy, reflink or link), unless an
 * earlier run's is already right; the user's file there is kept, ours goes beside. */
int pho_organize__out_put_file(struct run *run, struct pho_organize__outputs *outs,
                               const char *path, uint64_t size, int64_t mtime_ns, const char *rel,
                               struct pho_err *err);
/* Writes @len bytes of @data at @rel the same way (always a file of its own). */
int pho_organize__out_put_data(struct run *run, struct pho_organize__outputs *outs,
                               const void *data, size_t len, const char *rel, struct pho_err *err);

/* People folders (write_people.c): OUT/people/<name or person_NNNN>/ with each person's
 * photos, and <folder>.jpg, their face (--people-folders). */
int pho_organize__people_folders(struct run *run, struct pho_organize__outputs *outs,
                                 struct pho_err *err);

/* Sidecars (write_xmp.c): where a group's go, planned once per group. */
struct pho_organize__sidecars;
/* The plan of @g's sidecars for this run (*@out NULL when it writes none). @for_output:
 * also check each source sidecar OUT's sidecar would take in (the beside-sources pass
 * reads them when it merges). */
int pho_organize__sidecars_plan(struct pho_organize__sidecars **out, const struct run *run,
                                const struct pho_group_plan *g, bool for_output,
                                struct pho_err *err);
void pho_organize__sidecars_free(struct pho_organize__sidecars *s);
/* Whether file @f of the group is a source sidecar that this run's own sidecar of the same
 * name in OUT takes in (merged), so it is not copied as it is. */
bool pho_organize__sidecars_replace(const struct pho_organize__sidecars *s,
                                    const struct pho_group_file *f);
/* Writes the group's sidecars in OUT: under originals/ and as best_ (group folders), or
 * under OUT/xmp/ (--tag-only), staged in outs->stage. */
int pho_organize__sidecars_write(struct run *run, struct pho_organize__outputs *outs,
                                 const struct pho_group_plan *g,
                                 const struct pho_organize__sidecars *s, struct pho_err *err);
/* The sidecars beside the source photos of every group (--xmp-beside-sources). */
int pho_organize__source_sidecars(struct run *run, struct pho_err *err);

#endif
