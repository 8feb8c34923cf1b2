/* SPDX-License-Identifier: MIT */
/*
 * `photo-organizer [organize] -s SRC -o OUT [options]`: the organizer.
 * Parses the original tool's flags (where they make sense), handles
 * --resume (settings of the interrupted run come from the catalog), shows a
 * progress bar on a terminal, prints one line per unreadable photo, and a
 * summary (or, with --dry-run, the plan) at the end.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <getopt.h>
#include <jansson.h>

#include "cli.h"
#include "pho/catalog.h"
#include "pho/image.h"
#include "pho/json.h"
#include "pho/organize.h"

static atomic_int cancel_flag;

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s [organize] -s SOURCE -o OUTPUT [OPTIONS]\n"
            "\n"
            "Finds bursts and near-duplicate photos under SOURCE, picks the best shot of\n"
            "each group, and writes copies under OUTPUT:\n"
            "  OUTPUT/group_NNNN/originals/   every photo of the group\n"
            "  OUTPUT/group_NNNN/best_<name>  the chosen best shot\n"
            "  OUTPUT/group_NNNN/metadata.txt each photo's metadata and scores\n"
            "  OUTPUT/reports/latest.json     the run report (schema: docs/report.md)\n"
            "A RAW and the camera's JPEG of it are one shot (the JPEG is analysed); a\n"
            "shot's files, its sidecars (.xmp, .AAE, .THM, Takeout .json) and a Live\n"
            "Photo's video travel together (docs/shots.md).\n"
            "Photos under SOURCE are only read, never changed, moved or deleted. Running\n"
            "again reuses earlier work (OUTPUT/.photo-organizer/catalog.db, or the\n"
            "--catalog database) and only analyses new or changed files.\n"
            "\n"
            "Folders:\n"
            "  -s, --source DIR        the photo library (searched recursively; only read)\n"
            "  -o, --output DIR        where groups, reports and the catalog go (created if\n"
            "                          needed; may lie inside SOURCE, it is then skipped)\n"
            "      --link MODE         how group files are made in OUTPUT (docs/output.md):\n"
            "                          auto (default): a reflink (copy-on-write clone: no\n"
            "                          space used, and editing it never changes the source)\n"
            "                          where the filesystem can, else a copy; copy; reflink\n"
            "                          (an error where it cannot); hardlink or symlink (no\n"
            "                          space used; BUT an editor that saves in place through\n"
            "                          a link changes your original photo, and a symlink\n"
            "                          breaks when the library moves)\n"
            "\n"
            "Decisions for photo editors (XMP sidecars, docs/xmp.md): each grouped photo's\n"
            "sidecar gets a rating (best shot 5), a colour label (best: Green), keywords\n"
            "photo-organizer|group_NNNN and photo-organizer|best, and the reason for the\n"
            "choice; Lightroom, Capture One, darktable and digiKam read them. A sidecar\n"
            "already there is merged into, never replaced: your keywords, ratings and\n"
            "edits stay, and its first content is kept in NAME.xmp.photo-organizer-backup.\n"
            "      --xmp               write sidecars beside the group files in OUTPUT\n"
            "      --xmp-beside-sources  write them beside your photos in SOURCE (the photos\n"
            "                          themselves are never changed)\n"
            "      --xmp-style STYLE   name (default: IMG_1.xmp, one per shot; Lightroom,\n"
            "                          Capture One) or name.ext (IMG_1.CR2.xmp, one per file;\n"
            "                          darktable, digiKam); tool names work too\n"
            "      --xmp-rating-others N  rating of the other photos of a group: -1\n"
            "                          (rejected) to 5 (default 1)\n"
            "      --xmp-label COLOR   label of the best shot: Red, Yellow, Green (default),\n"
            "                          Blue, Purple or none\n"
            "      --tag-only          write the decisions only: report and sidecars, no\n"
            "                          group folders (sidecars go to OUTPUT/xmp/<folder>/\n"
            "                          unless --xmp-beside-sources); nothing is removed\n"
            "\n"
            "Grouping (docs/grouping.md). With none of -t, --time-window, --hash, the\n"
            "default rule needs no tuning: copies (re-encoded, resized, cropped, converted,\n"
            "metadata stripped) join their original whenever taken, shots seconds apart\n"
            "join their burst, and every link is confirmed by comparing the pictures.\n"
            "Any of those three flags selects the original tool's rule, with its meaning:\n"
            "      --grouping RULE     auto (default) or classic (the original tool's rule)\n"
            "  -t, --threshold N       classic: most differing hash bits for two photos to\n"
            "                          match, 0..64 (default 5; 0 = identical hashes only)\n"
            "      --time-window S     classic: also require capture times within S seconds\n"
            "                          (default 300; 0 = compare pictures only). Photos\n"
            "                          without a capture time in their EXIF match on\n"
            "                          pictures alone.\n"
            "      --hash KIND         classic: dhash (default; the original's) or phash\n"
            "      --min-group-size N  smallest group kept (default 2; classic: 3)\n"
            "\n"
            "Best shot:\n"
            "      --faces WHICH       analyse faces of: groups (default: the photos whose best\n"
            "                          shot depends on them), all (also finds the people of\n"
            "                          the whole library: docs/people.md), or none. A take\n"
            "                          where everyone's eyes are open beats any smile; then\n"
            "                          smiles, sharp faces and image quality decide\n"
            "                          (docs/best-shot.md)\n"
            "      --face-backend NAME auto (default: mediapipe, then face_recognition; with\n"
            "                          --gpu: facenet, insightface first), mediapipe,\n"
            "                          face_recognition, facenet, insightface or yolov8. A\n"
            "                          named backend that cannot run is an error, not a\n"
            "                          silent fallback; see '%s backends'\n"
            "      --people-folders    with --faces all: OUTPUT/people/<name>/ holds each\n"
            "                          person's photos (made as --link says) and\n"
            "                          people/<name>.jpg their face (docs/people.md)\n"
            "      --web-viewer        when the run is done, serve the review viewer for\n"
            "                          OUTPUT (as '%s serve -o OUTPUT'; --port N)\n"
            "      --enable-face-swap  when a group's best shot still has closed eyes, also\n"
            "                          write best_<name>_fixed.jpg: the same people's open\n"
            "                          eyes from the group's other takes, aligned, colour-\n"
            "                          matched and blended, each repair checked (eyes open,\n"
            "                          same person, no seam) or refused with its reason in\n"
            "                          the report (docs/face-swap.md); needs a backend with\n"
            "                          identity (not yolov8). The best shot is never changed\n"
            "      --min-face F        smallest face to look for, as a fraction of the\n"
            "                          photo's long side (default 0.02)\n"
            "      --models-dir DIR    face models folder (default: $XDG_DATA_HOME/\n"
            "                          photo-organizer/models; '%s models install')\n"
            "      --gpu               run the face models on a CUDA GPU (falls back to the\n"
            "                          CPU with a warning when none can be used)\n"
            "      --gpu-device N      which GPU (default 0; see '%s devices')\n"
            "      --batch-size N      photos per face-model batch (default: 1 on the CPU,\n"
            "                          16 on a GPU); results do not depend on it\n"
            "      --no-ml-quality     skip the learned quality model (BRISQUE); sharpness,\n"
            "                          exposure, noise and resolution still count\n"
            "\n"
            "Running:\n"
            "      --dry-run           print the plan; write nothing at all under OUTPUT\n"
            "      --resume            continue the interrupted run in OUTPUT with its own\n"
            "                          settings (options given now override them)\n"
            "      --force-fresh       ignore the analyses cached in OUTPUT and redo them\n"
            "      --wait              if another run is organizing into OUTPUT, wait for it\n"
            "                          (default: say so and exit with status 3)\n"
            "      --threads N         worker threads (default: one per CPU)\n"
            "      --catalog DB        keep the catalog in a PostgreSQL database (postgresql://\n"
            "                          user@host/db, or \"host=... dbname=...\") instead of\n"
            "                          OUTPUT; remembered, so later commands find it\n"
            "      --distributed       with --catalog: queue the analysis for '%s worker'\n"
            "                          processes on other machines, work too, wait for them,\n"
            "                          then finish as one machine would (docs/scale-out.md)\n"
            "      --shard I/N         with --catalog: analyse only shard I (0..N-1) of N into\n"
            "                          the catalog and stop (Slurm arrays, Kubernetes indexed\n"
            "                          jobs; -o not needed); a last run without it groups\n"
            "                          the whole library from the catalog\n"
            "      --limit N           only the first N photos (in sorted order)\n"
            "      --max-pixels N      refuse images over N pixels (default %u)\n"
            "      --include-hidden    also scan hidden files and folders\n"
            "      --no-follow-symlinks  do not enter symbolically linked folders\n"
            "  -v, --verbose           say more about each stage\n"
            "  -q, --quiet             only errors; no progress bar, no summary\n"
            "  -h, --help              show this help\n"
            "\n"
            "Exit status: 0 when every photo could be read, 1 when some could not (each is\n"
            "one line on standard error and an entry in the report), 2 on a usage error,\n"
            "130 when interrupted (run again, or with --resume, to continue).\n",
            cli_prog, cli_prog, cli_prog, cli_prog, cli_prog, cli_prog, PHO_DEFAULT_MAX_PIXELS);
}

struct ui {
    bool quiet;
    size_t failures;
};

static void on_progress(void *ud, const struct pho_progress *p)
{
    struct ui *ui = ud;
    if (ui->quiet)
        return;
    bool force = p->done == 0 || p->done == p->total || p->stage == PHO_STAGE_DONE;
    if (p->stage == PHO_STAGE_DONE) {
        pho_log(PHO_LOG_DEBUG, "organize", "done");
        return;
    }
    cli_progress_update(pho_stage_name(p->stage), p->done, p->total, p->elapsed, force);
}

static void on_failure(void *ud, const struct pho_photo *photo)
{
    struct ui *ui = ud;
    ui->failures++;
    cli_error("%s: %s", photo->path, photo->error_msg);
}

/* The library the interrupted run organized, as recorded: its canonical path
 * and its folder's device and inode. Without -s, that path, if it still names
 * the same folder; with -s, the folder given must be that same folder. */
static int check_resumed_source(const struct pho_organize_opts *o, unsigned set,
                                const struct pho_organize_record *rec)
{
    if (!(rec->present & PHO_SET_SOURCE)) {
        if (set & PHO_SET_SOURCE)
            return 0;
        cli_error("--resume: the run recorded in %s names no source folder; give it with -s",
                  o->output);
        return EXIT_USAGE;
    }
    if (!rec->source_identified) {
        /* Recorded by an older version: the path as typed, relative to a folder we do not know. */
        if (set & PHO_SET_SOURCE)
            return 0;
        cli_error("--resume: the run recorded in %s names its source as '%s', relative to the "
                  "folder it was started from; give the source folder with -s",
                  o->output, rec->source);
        return EXIT_USAGE;
    }
    const char *given = (set & PHO_SET_SOURCE) ? o->source : rec->source;
    struct stat st;
    if (stat(given, &st) < 0 || !S_ISDIR(st.st_mode)) {
        if (set & PHO_SET_SOURCE)
            return 0; /* the run itself says what is wrong with -s */
        cli_error("--resume: the folder the interrupted run organized, %s, is not there any "
                  "more (moved, or not mounted?); give its new place with -s",
                  rec->source);
        return EXIT_FAIL;
    }
    if ((unsigned long long)st.st_dev != rec->source_device ||
        (unsigned long long)st.st_ino != rec->source_inode) {
        if (set & PHO_SET_SOURCE)
            cli_error("--resume: %s is not the folder the interrupted run organized (%s); "
                      "resume without -s, or start a new run without --resume",
                      given, rec->source);
        else
            cli_error("--resume: %s is now another folder than the one the interrupted run "
                      "organized; give the library's place with -s, or start a new run "
                      "without --resume",
                      rec->source);
        return EXIT_USAGE;
    }
    return 0;
}

/* Fills the options the user did not type from the last run recorded in OUTPUT. */
static int apply_resume(struct pho_organize_opts *o, unsigned set, struct pho_organize_record *rec)
{
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_organize_last_run(rec, o->output, &err);
    if (rc == PHO_ENOTFOUND) {
        cli_error("--resume: %s has no earlier run to continue", o->output);
        return EXIT_USAGE;
    }
    if (rc) {
        cli_error("--resume: %s", pho_err_reason(&err));
        return EXIT_FAIL;
    }
    if (rec->finished)
        cli_warn("--resume: the last run in %s finished; running again with its settings",
                 o->output);
    rc = check_resumed_source(o, set, rec);
    if (rc)
        return rc;
    pho_organize_record_apply(o, rec, set);
    return EXIT_OK;
}

static void no_output(void *ud)
{
    (void)ud;
}

static void print_plan(const struct pho_organize_result *r)
{
    printf("Plan (dry run: nothing is written):\n");
    for (size_t g = 0; g < r->ngroups; g++) {
        const struct pho_group_plan *gp = &r->groups[g];
        printf("%s  %zu photos, best: %s\n", gp->dir, gp->count,
               cli_shown(r->photos[gp->best].rel));
        printf("    why: %s\n", cli_shown(gp->why));
        for (size_t f = 0; f < gp->nfiles; f++) {
            const struct pho_group_file *gf = &gp->files[f];
            bool main = gf->photo == gp->members[gf->member];
            const char *src = gf->photo != SIZE_MAX ? r->photos[gf->photo].rel
                                                    : r->companions[gf->companion].rel;
            printf("    %soriginals/%s <- %s%s\n", main ? "" : "  ", cli_shown(gf->name),
                   cli_shown(src), main && gf->photo == gp->best ? "  (best)" : "");
        }
        /* --enable-face-swap: which closed eyes of the best shot would come from where. */
        for (size_t i = 0; i < gp->swap.nfaces; i++) {
            const struct pho_swap_fix *s = &gp->swap.faces[i];
            printf("    face swap: face %zu of the best shot: %s\n", s->face + 1,
                   cli_shown(s->why));
        }
    }
}

static void print_summary(const struct pho_organize_result *r, bool dry_run)
{
    size_t grouped = 0;
    for (size_t g = 0; g < r->ngroups; g++)
        grouped += r->groups[g].count;
    size_t shots = r->nshots;
    printf("%s %zu photos: %zu group%s (%zu photos), %zu ungrouped, %zu unreadable; "
           "%.1f s (%.1f photos/s, %zu from the catalog)\n",
           dry_run ? "Planned" : "Organized", r->nphotos, r->ngroups, r->ngroups == 1 ? "" : "s",
           grouped, shots - grouped, r->failed, r->t_total,
           r->t_total > 0 ? r->nphotos / r->t_total : 0, r->from_catalog);
    /* Files that are one shot with another, or travel with a photo: said, not counted. */
    size_t parts = r->nphotos - shots - r->failed;
    if (parts || r->ncompanions)
        printf("Shots: %zu RAW or extra rendition file%s kept with %s photo, %zu sidecar%s and "
               "video%s travelling with theirs\n",
               parts, parts == 1 ? "" : "s", parts == 1 ? "its" : "their", r->ncompanions,
               r->ncompanions == 1 ? "" : "s", r->ncompanions == 1 ? "" : "s");
    if (r->face_backend[0])
        printf("Faces: %s backend on %s, %zu photos analysed (%zu from the catalog)\n",
               r->face_backend, r->face_device, r->faces_analysed + r->faces_from_catalog,
               r->faces_from_catalog);
    if (r->face_persons)
        printf("People: %zu in the library (%zu found in this run); see them with '%s people "
               "-o OUTPUT list'\n",
               r->npeople, r->people_created, cli_prog);
    if (r->swap_groups && dry_run)
        printf("Face swap: %zu best shot%s with closed eyes; the plan is in each group's why\n",
               r->swap_groups, r->swap_groups == 1 ? "" : "s");
    else if (r->swap_groups)
        printf("Face swap: %zu best shot%s with closed eyes, %zu repaired (%zu face%s) as "
               "best_*_fixed.jpg\n",
               r->swap_groups, r->swap_groups == 1 ? "" : "s", r->swap_written, r->swap_faces_fixed,
               r->swap_faces_fixed == 1 ? "" : "s");
    if (!dry_run) {
        char how[160] = "";
        if (r->files_reflinked || r->files_hardlinked || r->files_symlinked)
            snprintf(how, sizeof(how), " (%zu reflinked, %zu hard links, %zu symbolic links)",
                     r->files_reflinked, r->files_hardlinked, r->files_symlinked);
        printf("Files: %zu written%s, %zu unchanged, %zu removed. Report: %s\n", r->files_written,
               how, r->files_unchanged, r->files_removed, r->report_path);
        size_t sidecars = r->sidecars_written + r->sidecars_unchanged;
        if (sidecars || r->nsidecar_issues)
            printf("Sidecars: %zu written (%zu merged into existing ones, %zu backed up), %zu "
                   "unchanged, %zu left alone\n",
                   r->sidecars_written, r->sidecars_merged, r->sidecars_backed_up,
                   r->sidecars_unchanged, r->nsidecar_issues);
    }
}

int cmd_organize(int argc, char **argv)
{
    enum {
        OPT_WINDOW = 256,
        OPT_GROUPING,
        OPT_LINK,
        OPT_MIN,
        OPT_HASH,
        OPT_DRY,
        OPT_RESUME,
        OPT_FRESH,
        OPT_WAIT,
        OPT_THREADS,
        OPT_LIMIT,
        OPT_PIXELS,
        OPT_NO_ML,
        OPT_HIDDEN,
        OPT_NO_FOLLOW,
        OPT_FACES,
        OPT_FACE_BACKEND,
        OPT_MIN_FACE,
        OPT_MODELS_DIR,
        OPT_GPU,
        OPT_GPU_DEVICE,
        OPT_BATCH,
        OPT_XMP,
        OPT_XMP_SOURCES,
        OPT_XMP_STYLE,
        OPT_XMP_RATING,
        OPT_XMP_LABEL,
        OPT_TAG_ONLY,
        OPT_PEOPLE_FOLDERS,
        OPT_FACE_SWAP,
        OPT_WEB_VIEWER,
        OPT_PORT,
        OPT_CATALOG,
        OPT_DISTRIBUTED,
        OPT_SHARD,
    };
    static const struct option longopts[] = {
        { "source", required_argument, NULL, 's' },
        { "output", required_argument, NULL, 'o' },
        { "threshold", required_argument, NULL, 't' },
        { "grouping", required_argument, NULL, OPT_GROUPING },
        { "link", required_argument, NULL, OPT_LINK },
        { "time-window", required_argument, NULL, OPT_WINDOW },
        { "min-group-size", required_argument, NULL, OPT_MIN },
        { "hash", required_argument, NULL, OPT_HASH },
        { "dry-run", no_argument, NULL, OPT_DRY },
        { "resume", no_argument, NULL, OPT_RESUME },
        { "force-fresh", no_argument, NULL, OPT_FRESH },
        { "wait", no_argument, NULL, OPT_WAIT },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "limit", required_argument, NULL, OPT_LIMIT },
        { "max-pixels", required_argument, NULL, OPT_PIXELS },
        { "no-ml-quality", no_argument, NULL, OPT_NO_ML },
        { "include-hidden", no_argument, NULL, OPT_HIDDEN },
        { "no-follow-symlinks", no_argument, NULL, OPT_NO_FOLLOW },
        { "faces", required_argument, NULL, OPT_FACES },
        { "face-backend", required_argument, NULL, OPT_FACE_BACKEND },
        { "min-face", required_argument, NULL, OPT_MIN_FACE },
        { "models-dir", required_argument, NULL, OPT_MODELS_DIR },
        { "gpu", no_argument, NULL, OPT_GPU },
        { "gpu-device", required_argument, NULL, OPT_GPU_DEVICE },
        { "batch-size", required_argument, NULL, OPT_BATCH },
        { "xmp", no_argument, NULL, OPT_XMP },
        { "xmp-beside-sources", no_argument, NULL, OPT_XMP_SOURCES },
        { "xmp-style", required_argument, NULL, OPT_XMP_STYLE },
        { "xmp-rating-others", required_argument, NULL, OPT_XMP_RATING },
        { "xmp-label", required_argument, NULL, OPT_XMP_LABEL },
        { "tag-only", no_argument, NULL, OPT_TAG_ONLY },
        { "people-folders", no_argument, NULL, OPT_PEOPLE_FOLDERS },
        { "enable-face-swap", no_argument, NULL, OPT_FACE_SWAP },
        { "web-viewer", no_argument, NULL, OPT_WEB_VIEWER },
        { "port", required_argument, NULL, OPT_PORT },
        { "catalog", required_argument, NULL, OPT_CATALOG },
        { "distributed", no_argument, NULL, OPT_DISTRIBUTED },
        { "shard", required_argument, NULL, OPT_SHARD },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct pho_organize_opts o = PHO_ORGANIZE_OPTS_INIT;
    unsigned set = 0;
    bool resume = false, web_viewer = false;
    unsigned long long viewer_port = 0;
    int verbosity = 1;
    unsigned long long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "s:o:t:vqh", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            /* One library per run: a second -s would silently replace the first. */
            if (set & PHO_SET_SOURCE)
                return cli_usage_error("organize",
                                       "-s/--source given twice ('%s' and '%s'); "
                                       "organize one folder per run",
                                       o.source, optarg);
            o.source = optarg;
            set |= PHO_SET_SOURCE;
            break;
        case 'o':
            if (o.output)
                return cli_usage_error("organize", "-o/--output given twice ('%s' and '%s')",
                                       o.output, optarg);
            o.output = optarg;
            break;
        case 't':
            if (!cli_parse_uint("--threshold", optarg, 64, &v))
                return cli_usage_error("organize", "--threshold takes 0..64");
            o.threshold = (int)v;
            set |= PHO_SET_THRESHOLD;
            break;
        case OPT_WINDOW: {
            char *end = NULL;
            double w = strtod(optarg, &end);
            if (!*optarg || *end || !(w >= 0) || w > 1e9)
                return cli_usage_error("organize",
                                       "--time-window takes seconds (0 or more), got '%s'", optarg);
            o.time_window = w;
            set |= PHO_SET_WINDOW;
            break;
        }
        case OPT_MIN:
            if (!cli_parse_uint("--min-group-size", optarg, 1000000, &v))
                return EXIT_USAGE;
            if (v < 2)
                cli_warn("--min-group-size %llu is raised to 2: a group needs two photos", v);
            o.min_group_size = v < 2 ? 2 : (size_t)v;
            set |= PHO_SET_MIN;
            break;
        case OPT_GROUPING:
            if (!strcmp(optarg, "auto"))
                o.grouping = PHO_GROUP_RULE_AUTO;
            else if (!strcmp(optarg, "classic"))
                o.grouping = PHO_GROUP_RULE_CLASSIC;
            else
                return cli_usage_error("organize", "--grouping takes auto or classic, got '%s'",
                                       optarg);
            set |= PHO_SET_GROUPING;
            break;
        case OPT_LINK:
            if (pho_link_mode_parse(&o.link, optarg) < 0)
                return cli_usage_error("organize",
                                       "--link takes auto, copy, reflink, hardlink or symlink, "
                                       "got '%s'",
                                       optarg);
            set |= PHO_SET_LINK;
            break;
        case OPT_HASH:
            if (pho_hash_kind_parse(&o.hash, optarg) < 0)
                return cli_usage_error("organize", "--hash takes dhash or phash, got '%s'", optarg);
            set |= PHO_SET_HASH;
            break;
        case OPT_DRY:
            o.dry_run = true;
            break;
        case OPT_RESUME:
            resume = true;
            break;
        case OPT_FRESH:
            o.force_fresh = true;
            break;
        case OPT_WAIT:
            o.wait_lock = true;
            break;
        case OPT_THREADS:
            if (!cli_parse_uint("--threads", optarg, 1024, &v) || v == 0)
                return cli_usage_error("organize", "--threads takes 1..1024");
            o.threads = (unsigned)v;
            set |= PHO_SET_THREADS;
            break;
        case OPT_LIMIT:
            if (!cli_parse_uint("--limit", optarg, SIZE_MAX, &v))
                return EXIT_USAGE;
            o.limit = (size_t)v;
            set |= PHO_SET_LIMIT;
            break;
        case OPT_PIXELS:
            if (!cli_parse_uint("--max-pixels", optarg, UINT64_MAX, &v) || v == 0)
                return cli_usage_error("organize", "--max-pixels must be at least 1");
            o.max_pixels = v;
            set |= PHO_SET_PIXELS;
            break;
        case OPT_NO_ML:
            o.ml_quality = false;
            set |= PHO_SET_ML;
            break;
        case OPT_HIDDEN:
            o.include_hidden = true;
            set |= PHO_SET_HIDDEN;
            break;
        case OPT_NO_FOLLOW:
            o.follow_symlinks = false;
            set |= PHO_SET_FOLLOW;
            break;
        case OPT_FACES:
            if (!strcmp(optarg, "groups"))
                o.faces = PHO_FACES_GROUPS;
            else if (!strcmp(optarg, "all"))
                o.faces = PHO_FACES_ALL;
            else if (!strcmp(optarg, "none"))
                o.faces = PHO_FACES_NONE;
            else
                return cli_usage_error("organize", "--faces takes groups, all or none, got '%s'",
                                       optarg);
            set |= PHO_SET_FACES;
            break;
        case OPT_FACE_BACKEND: {
            static const char *const names[] = { "auto",    "mediapipe",   "face_recognition",
                                                 "facenet", "insightface", "yolov8" };
            bool ok = false;
            for (size_t i = 0; i < CLI_ARRAY_LEN(names); i++)
                ok |= !strcmp(optarg, names[i]);
            if (!ok)
                return cli_usage_error("organize",
                                       "--face-backend takes auto, mediapipe, face_recognition, "
                                       "facenet, insightface or yolov8, got '%s'",
                                       optarg);
            o.face_backend = optarg;
            set |= PHO_SET_BACKEND;
            break;
        }
        case OPT_MIN_FACE: {
            char *end = NULL;
            double f = strtod(optarg, &end);
            if (!*optarg || *end || !(f > 0 && f < 1))
                return cli_usage_error("organize",
                                       "--min-face takes a fraction between 0 and 1, got '%s'",
                                       optarg);
            o.min_face = (float)f;
            set |= PHO_SET_MIN_FACE;
            break;
        }
        case OPT_MODELS_DIR:
            o.models_dir = optarg;
            break;
        case OPT_GPU:
            o.gpu = true;
            set |= PHO_SET_GPU;
            break;
        case OPT_GPU_DEVICE:
            if (!cli_parse_gpu_device(optarg, &o.gpu, &o.gpu_device))
                return EXIT_USAGE;
            set |= PHO_SET_GPU;
            break;
        case OPT_BATCH:
            if (!cli_parse_uint("--batch-size", optarg, 256, &v) || v == 0)
                return cli_usage_error("organize", "--batch-size takes 1..256");
            o.batch_size = (unsigned)v;
            break;
        case OPT_XMP:
            o.xmp.in_output = true;
            set |= PHO_SET_XMP;
            break;
        case OPT_XMP_SOURCES:
            o.xmp.beside_sources = true;
            set |= PHO_SET_XMP_SOURCES;
            break;
        case OPT_XMP_STYLE:
            if (pho_xmp_style_parse(&o.xmp.style, optarg) < 0)
                return cli_usage_error("organize",
                                       "--xmp-style takes name (lightroom, capture-one) or "
                                       "name.ext (darktable, digikam), got '%s'",
                                       optarg);
            set |= PHO_SET_XMP_STYLE;
            break;
        case OPT_XMP_RATING: {
            char *end = NULL;
            long n = strtol(optarg, &end, 10);
            if (!*optarg || *end || n < -1 || n > 5)
                return cli_usage_error("organize",
                                       "--xmp-rating-others takes -1 (rejected) to 5, got '%s'",
                                       optarg);
            o.xmp.rating_others = (int)n;
            set |= PHO_SET_XMP_RATING;
            break;
        }
        case OPT_XMP_LABEL:
            if (pho_xmp_label_parse(&o.xmp.label, optarg) < 0)
                return cli_usage_error("organize",
                                       "--xmp-label takes Red, Yellow, Green, Blue, Purple or "
                                       "none, got '%s'",
                                       optarg);
            set |= PHO_SET_XMP_LABEL;
            break;
        case OPT_WEB_VIEWER:
            web_viewer = true;
            break;
        case OPT_CATALOG:
            if (!pho_catalog_is_url(optarg))
                return cli_usage_error(
                        "organize", "--catalog takes a PostgreSQL database: postgresql://"
                                    "user@host/db or \"host=... dbname=...\" (docs/scale-out.md)");
            o.catalog = optarg;
            break;
        case OPT_DISTRIBUTED:
            o.distributed = true;
            break;
        case OPT_SHARD: {
            unsigned i = 0, n = 0;
            char tail = 0;
            if (sscanf(optarg, "%u/%u%c", &i, &n, &tail) != 2 || n == 0 || n > 100000 || i >= n)
                return cli_usage_error("organize",
                                       "--shard takes I/N: shard I (0 to N-1, as Slurm's "
                                       "SLURM_ARRAY_TASK_ID) of N, got '%s'",
                                       cli_shown(optarg));
            o.shard_index = i;
            o.shard_count = n;
            break;
        }
        case OPT_PORT:
            if (!cli_parse_uint("--port", optarg, 65535, &viewer_port) || viewer_port == 0)
                return cli_usage_error("organize", "--port takes 1..65535");
            break;
        case OPT_FACE_SWAP:
            o.face_swap = true;
            set |= PHO_SET_FACE_SWAP;
            break;
        case OPT_PEOPLE_FOLDERS:
            o.people_folders = true;
            set |= PHO_SET_PEOPLE_FOLDERS;
            break;
        case OPT_TAG_ONLY:
            o.tag_only = true;
            set |= PHO_SET_TAG_ONLY;
            break;
        case 'v':
            verbosity = 2;
            break;
        case 'q':
            verbosity = 0;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            return cli_usage_error("organize", "unrecognised option");
        }
    }
    if (optind < argc)
        return cli_usage_error("organize", "unexpected argument '%s' (photos come from -s)",
                               argv[optind]);
    if (pho_organize_select_rule(&o, &set))
        return cli_usage_error("organize", "-t, --time-window and --hash belong to --grouping "
                                           "classic; the auto rule sets its own");
    if (resume && o.force_fresh)
        return cli_usage_error("organize", "--resume and --force-fresh exclude each other");
    if (o.shard_count && !o.catalog)
        return cli_usage_error("organize", "--shard needs --catalog postgresql://... (the "
                                           "database the shards share)");
    if (o.shard_count && (o.distributed || resume || o.dry_run))
        return cli_usage_error("organize", "--shard excludes --distributed, --resume and "
                                           "--dry-run");
    if (!o.output && !o.shard_count)
        return cli_usage_error("organize", "give an output folder with -o");
    if (o.distributed && !o.catalog)
        return cli_usage_error("organize", "--distributed needs --catalog postgresql://... (the "
                                           "database the workers share)");
    /* Static: the options point into it for the rest of the run. */
    static struct pho_organize_record rec;
    if (resume) {
        int rc = apply_resume(&o, set, &rec);
        if (rc)
            return rc;
    }
    if (!o.source)
        return cli_usage_error("organize", "give a source folder with -s");
    if (o.face_swap && o.faces == PHO_FACES_NONE)
        return cli_usage_error("organize", "--enable-face-swap needs face analysis: drop "
                                           "--faces none");
    if (o.people_folders && o.faces != PHO_FACES_ALL)
        return cli_usage_error("organize", "--people-folders needs the faces of every photo: "
                                           "add --faces all");
    cli_log_init(verbosity);

    struct ui ui = { .quiet = verbosity == 0 };
    o.progress = on_progress;
    o.on_failure = on_failure;
    o.ud = &ui;
    o.cancel = &cancel_flag;
    cli_progress_enable(verbosity == 1);
    /* A closed terminal (SIGHUP) saves the work like Ctrl-C; the catalog is safe either way. */
    cli_stop_on_signals(&cancel_flag, true);

    struct pho_organize_result r;
    struct pho_err err = PHO_ERR_INIT;
    int rc = pho_organize_run(&r, &o, &err);
    cli_locked_print(no_output, NULL); /* clears the progress bar */
    cli_progress_enable(false);
    int status = EXIT_OK;
    if (rc == PHO_EINTR) {
        cli_error("%s", err.msg);
        status = 130;
    } else if (rc < 0) {
        cli_error("%s", err.msg);
        status = rc == PHO_EINVAL ? EXIT_USAGE : rc == PHO_EBUSY ? EXIT_BUSY : EXIT_FAIL;
    } else {
        if (o.dry_run && verbosity > 0) /* -q: errors only, the plan too */
            print_plan(&r);
        if (verbosity > 0 && o.shard_count)
            printf("Shard %u/%u: %zu photos analysed into the catalog, %zu there already, %zu "
                   "left to other shards, %zu unreadable; %.1f s\n",
                   o.shard_index, o.shard_count, r.analysed, r.from_catalog, r.shard_skipped,
                   r.failed, r.t_total);
        else if (verbosity > 0)
            print_summary(&r, o.dry_run);
        for (size_t g = 0; g < r.ngroups; g++)
            if (r.groups[g].error)
                cli_error("%s: %s", r.groups[g].dir, r.groups[g].error_msg);
        if (r.failed || r.groups_failed)
            status = EXIT_FAIL;
    }
    bool serve = web_viewer && rc == 0 && !o.dry_run;
    pho_organize_result_release(&r);
    /* --web-viewer: the result, in the browser, as the original tool offered. */
    if (serve) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        int vs = cli_serve_run(o.output, (unsigned)viewer_port, viewer_port != 0, "127.0.0.1",
                               o.models_dir);
        if (status == EXIT_OK)
            status = vs;
    }
    return status;
}
