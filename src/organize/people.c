/* SPDX-License-Identifier: MIT */
/*
 * Stage: people (docs/people.md). With the faces of every photo analysed,
 * each face is matched to what the catalog remembers of it (its photo, its
 * box), persons are found or extended (pho_people_cluster), and the result is
 * kept in the catalog for the next run and the `people` command.
 *
 * Persons belong to one embedding model. A face keeps its person from run to
 * run; one the user moved (pinned) or refused is a constraint clustering
 * never undoes; merged persons answer for the person they were merged into.
 */
#include "core/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "organize/internal.h"
#include "organize/run.h"
#include "pho/catalog.h"
#include "pho/log.h"
#include "pho/people.h"

/* What the catalog says of this model's persons. */
struct memory {
    struct pho_person_row *persons;
    size_t npersons;
    struct pho_person_face *faces, *refusals; /* sorted by rel */
    size_t nfaces, nrefusals;
};

static void memory_free(struct memory *m)
{
    pho_catalog_persons_free(m->persons, m->npersons);
    pho_catalog_person_faces_free(m->faces, m->nfaces);
    pho_catalog_person_faces_free(m->refusals, m->nrefusals);
}

static const struct pho_person_row *person_row(const struct memory *m, int64_t id)
{
    size_t lo = 0, hi = m->npersons;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->persons[mid].id == id)
            return &m->persons[mid];
        if (m->persons[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The person @id answers to now: merges followed (a chain the user made, never a loop
 * longer than the persons there are). 0 when it is not one of this model's. */
static int64_t resolve(const struct memory *m, int64_t id)
{
    for (size_t hops = 0; id > 0 && hops <= m->npersons; hops++) {
        const struct pho_person_row *p = person_row(m, id);
        if (!p)
            return 0;
        if (!p->merged_into)
            return id;
        id = p->merged_into;
    }
    return 0;
}

/* The first of @v (sorted by rel) about @rel, and how many there are. */
static size_t rows_of(const struct pho_person_face *v, size_t n, const char *rel, size_t *count)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(v[mid].rel, rel) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < n && !strcmp(v[end].rel, rel))
        end++;
    *count = end - lo;
    return lo;
}

/* The remembered row (of @count from @rows) that is face @f: the same box, mostly. */
static const struct pho_person_face *same_face(const struct pho_person_face *rows, size_t count,
                                               const struct pho_face *f, uint32_t index)
{
    const struct pho_person_face *best = NULL;
    float best_iou = 0.5f;
    for (size_t i = 0; i < count; i++) {
        float o = pho_face_box_iou(rows[i].box, f->box);
        if (o > best_iou || (o == best_iou && best && rows[i].face == index)) {
            best = &rows[i];
            best_iou = o;
        }
    }
    return best;
}

/* One face of the library as clustering sees it, and where it came from. */
struct item {
    size_t photo;
    uint32_t face;
};

static int load(struct run *run, struct memory *m, const char *model, struct pho_err *err)
{
    memset(m, 0, sizeof(*m));
    int rc = pho_catalog_persons(run->cat, model, &m->persons, &m->npersons, err);
    if (rc == 0)
        rc = pho_catalog_person_faces(run->cat, model, 0, &m->faces, &m->nfaces, err);
    if (rc == 0)
        rc = pho_catalog_person_refusals(run->cat, model, &m->refusals, &m->nrefusals, err);
    return rc;
}

/* Says once when persons were found with another model than this run's. */
static int note_model_change(struct run *run, const char *model, size_t mine, struct pho_err *err)
{
    struct pho_person_row *all = NULL;
    size_t n = 0;
    int rc = pho_catalog_persons(run->cat, NULL, &all, &n, err);
    if (rc == 0 && n > mine && mine == 0)
        pho_log(PHO_LOG_WARN, "people",
                "faces are now recognised with %s; the %zu persons found with %s stay with "
                "that model (names included) and people are found again with this one",
                model, n, all[0].model);
    pho_catalog_persons_free(all, n);
    return rc;
}

/* The catalog's rows for photo @i's faces with an identity, as clustering left them
 * (person 0: none). */
static int keep(struct run *run, const char *model, size_t i, const int64_t *person,
                const bool *pinned, struct pho_err *err)
{
    const struct pho_face_list *fl = &run->r->faces[i];
    struct pho_person_face *rows = pho_calloc(fl->count ? fl->count : 1, sizeof(*rows));
    if (!rows)
        return pho_err_set(err, PHO_ENOMEM, "people: out of memory");
    size_t n = 0;
    for (size_t j = 0; j < fl->count; j++) {
        /* Faces without a person too: the user can still move them to one. */
        if (!fl->faces[j].embed_dim)
            continue;
        rows[n] = (struct pho_person_face){ .rel = run->r->photos[i].rel,
                                            .face = (uint32_t)j,
                                            .person = person[j],
                                            .pinned = pinned[j],
                                            .score = fl->faces[j].score };
        memcpy(rows[n].box, fl->faces[j].box, sizeof(rows[n].box));
        n++;
    }
    int rc = pho_catalog_person_faces_replace(run->cat, model, run->r->photos[i].rel, rows, n, err);
    pho_free(rows);
    return rc;
}

/* Faces of photos no longer in the library are no one's any more. Only after a scan of all
 * of it (no --limit): a photo not scanned is then gone. */
static int forget_gone(struct run *run, const struct memory *m, const char *model,
                       struct pho_err *err)
{
    if (run->o->limit)
        return 0;
    GHashTable *here = g_hash_table_new(g_str_hash, g_str_equal);
    for (size_t i = 0; i < run->r->nphotos; i++)
        g_hash_table_add(here, run->r->photos[i].rel);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->nfaces; i++) {
        if ((i > 0 && !strcmp(m->faces[i].rel, m->faces[i - 1].rel)) ||
            g_hash_table_contains(here, m->faces[i].rel))
            continue;
        rc = pho_catalog_person_faces_replace(run->cat, model, m->faces[i].rel, NULL, 0, err);
    }
    g_hash_table_destroy(here);
    return rc;
}

/* A face in a person, for counting. */
struct hit {
    int64_t person;
    size_t photo;
    uint32_t face;
};

static int compare_hits(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    if (x->person != y->person)
        return x->person < y->person ? -1 : 1;
    if (x->photo != y->photo)
        return x->photo < y->photo ? -1 : 1;
    return (x->face > y->face) - (x->face < y->face);
}

/* How well face @f shows its person: a confident, large detection. */
static float showing(const struct pho_face *f)
{
    return f->score * (f->box[2] - f->box[0]) * (f->box[3] - f->box[1]);
}

/* The persons of this run's library, by id, with their faces and photos counted. */
static int summarise(struct pho_organize_result *r, const struct memory *m)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nphotos; i++)
        for (size_t j = 0; r->face_persons[i] && j < r->faces[i].count; j++)
            n += r->face_persons[i][j] > 0;
    struct hit *hits = pho_calloc(n ? n : 1, sizeof(*hits));
    if (!hits)
        return PHO_ENOMEM;
    size_t k = 0, persons = 0;
    for (size_t i = 0; i < r->nphotos; i++)
        for (size_t j = 0; r->face_persons[i] && j < r->faces[i].count; j++)
            if (r->face_persons[i][j] > 0)
                hits[k++] = (struct hit){ r->face_persons[i][j], i, (uint32_t)j };
    qsort(hits, n, sizeof(*hits), compare_hits);
    for (size_t a = 0; a < n; a++)
        persons += a == 0 || hits[a].person != hits[a - 1].person;
    r->people = pho_calloc(persons ? persons : 1, sizeof(*r->people));
    int rc = r->people ? 0 : PHO_ENOMEM;
    for (size_t a = 0; rc == 0 && a < n; a++) {
        const struct pho_face *f = &r->faces[hits[a].photo].faces[hits[a].face];
        bool first = a == 0 || hits[a].person != hits[a - 1].person;
        if (first) {
            const struct pho_person_row *row = person_row(m, hits[a].person);
            struct pho_person_summary *p = &r->people[r->npeople];
            *p = (struct pho_person_summary){ .id = hits[a].person, .sample = hits[a].photo };
            p->hidden = row && row->hidden;
            if (!(p->name = pho_strdup(row ? row->name : ""))) {
                rc = PHO_ENOMEM;
                break;
            }
            r->npeople++;
        }
        struct pho_person_summary *p = &r->people[r->npeople - 1];
        p->faces++;
        p->photos += first || hits[a].photo != hits[a - 1].photo;
        const int64_t *sp = r->face_persons[p->sample];
        for (size_t b = 0; b < r->faces[p->sample].count; b++)
            if (sp[b] == p->id && showing(f) > showing(&r->faces[p->sample].faces[b]))
                p->sample = hits[a].photo;
    }
    pho_free(hits);
    return rc;
}

int pho_organize__people(struct run *run, struct pho_err *err)
{
    struct pho_organize_result *r = run->r;
    const char *model = r->embed_model;
    if (run->o->faces != PHO_FACES_ALL || !r->faces || !model[0] ||
        run->identity.metric == PHO_FACE_METRIC_NONE || !run->cat)
        return 0;
    /* Every face with an embedding of this model. */
    size_t n = 0, dim = 0;
    for (size_t i = 0; i < r->nphotos; i++)
        for (size_t j = 0; j < r->faces[i].count; j++)
            if (r->faces[i].faces[j].embed_dim) {
                dim = dim ? dim : r->faces[i].faces[j].embed_dim;
                n += r->faces[i].faces[j].embed_dim == dim;
            }
    pho_organize__stage_begin(run, PHO_STAGE_PEOPLE, n);
    struct memory m;
    int rc = load(run, &m, model, err);
    if (rc == 0)
        rc = note_model_change(run, model, m.npersons, err);
    struct item *items = pho_calloc(n ? n : 1, sizeof(*items));
    struct pho_people_face *faces = pho_calloc(n ? n : 1, sizeof(*faces));
    int64_t *out = pho_calloc(n ? n : 1, sizeof(*out));
    int64_t *refused = NULL; /* every face's refusals, one after another */
    size_t nrefused = 0;
    bool *pinned = pho_calloc(n ? n : 1, sizeof(*pinned));
    r->face_persons = pho_calloc(r->nphotos ? r->nphotos : 1, sizeof(*r->face_persons));
    if (rc == 0 && (!items || !faces || !out || !pinned || !r->face_persons))
        rc = pho_err_set(err, PHO_ENOMEM, "people: out of memory");
    if (rc == 0 && m.nrefusals && !(refused = pho_calloc(m.nrefusals, sizeof(*refused))))
        rc = pho_err_set(err, PHO_ENOMEM, "people: out of memory");
    size_t k = 0;
    for (size_t i = 0; rc == 0 && i < r->nphotos; i++) {
        const struct pho_face_list *fl = &r->faces[i];
        size_t fc, rc_n;
        size_t f0 = rows_of(m.faces, m.nfaces, r->photos[i].rel, &fc);
        size_t r0 = rows_of(m.refusals, m.nrefusals, r->photos[i].rel, &rc_n);
        for (size_t j = 0; j < fl->count; j++) {
            const struct pho_face *f = &fl->faces[j];
            if (f->embed_dim != dim || !dim)
                continue;
            struct pho_people_face *pf = &faces[k];
            items[k] = (struct item){ i, (uint32_t)j };
            pf->embed = f->embed;
            pf->photo = i;
            pf->eligible = pho_people_eligible(f, fl->image_w, fl->image_h);
            pf->not_persons = refused ? refused + nrefused : NULL;
            for (size_t a = 0; a < rc_n; a++) {
                const struct pho_person_face *no = &m.refusals[r0 + a];
                if (pho_face_box_iou(no->box, f->box) > 0.5f && resolve(&m, no->person))
                    refused[nrefused++] = resolve(&m, no->person), pf->nnot++;
            }
            const struct pho_person_face *was = same_face(&m.faces[f0], fc, f, (uint32_t)j);
            if (was) {
                pf->person = resolve(&m, was->person);
                pf->pinned = pinned[k] = was->pinned && pf->person;
                for (size_t a = 0; a < pf->nnot; a++)
                    if (pf->not_persons[a] == pf->person)
                        pf->person = 0, pf->pinned = pinned[k] = false;
            }
            k++;
        }
    }
    int64_t next_id = 1;
    size_t created = 0;
    if (rc == 0)
        rc = pho_catalog_person_next_id(run->cat, &next_id, err);
    if (rc == 0 && n) {
        struct pho_people_opts po = PHO_PEOPLE_OPTS_INIT;
        po.dim = dim;
        po.metric = run->identity.metric;
        po.same = run->identity.same;
        po.threads = run->threads;
        rc = pho_people_cluster(out, &created, faces, n, &po, next_id, err);
    }
    /* Remembered: new persons, then each photo's faces, in one transaction. */
    if (rc == 0)
        rc = pho_catalog_begin(run->cat, err);
    for (size_t c = 0; rc == 0 && c < created; c++)
        rc = pho_catalog_person_new(run->cat, next_id + (int64_t)c, model, err);
    for (size_t a = 0, i = 0; rc == 0 && i < r->nphotos; i++) {
        if (!r->faces[i].image_w)
            continue; /* not analysed: what the catalog says of it stays */
        size_t count = r->faces[i].count;
        int64_t *person = pho_calloc(count ? count : 1, sizeof(*person));
        bool *pin = pho_calloc(count ? count : 1, sizeof(*pin));
        if (!person || !pin)
            rc = pho_err_set(err, PHO_ENOMEM, "people: out of memory");
        size_t steps = 0;
        for (; rc == 0 && a < k && items[a].photo == i; a++, steps++) {
            person[items[a].face] = out[a];
            pin[items[a].face] = pinned[a] && out[a] == faces[a].person;
        }
        if (rc == 0)
            rc = keep(run, model, i, person, pin, err);
        pho_free(pin);
        if (rc == 0)
            r->face_persons[i] = person;
        else
            pho_free(person);
        pho_organize__step_done(run, steps, r->photos[i].rel);
    }
    if (rc == 0)
        rc = forget_gone(run, &m, model, err);
    if (rc == 0)
        rc = pho_catalog_commit(run->cat, err);
    /* The persons as they now are: new ones included. */
    if (rc == 0) {
        memory_free(&m);
        rc = load(run, &m, model, err);
    }
    r->people_created = created;
    if (rc == 0 && summarise(r, &m) != 0)
        rc = pho_err_set(err, PHO_ENOMEM, "people: out of memory");
    memory_free(&m);
    pho_free(items);
    pho_free(faces);
    pho_free(out);
    pho_free(refused);
    pho_free(pinned);
    return rc;
}
