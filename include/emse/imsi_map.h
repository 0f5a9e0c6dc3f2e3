/* The EMSE's own table from application identity to IMSI, for deployments where the EMSE translates
 * (SPEC.md section 6, case 1: [keys] translate = emse). Built from a file, looked up only by the
 * control thread; a reload builds a new table and swaps it in on that thread, so workers never see
 * it and nothing is locked.
 *
 * File format: one mapping per line, fields separated by blanks (space or tab):
 *     <ue_app_id> <imsi>
 * '#' at the start of a line (after blanks) begins a comment; blank lines are skipped. ue_app_id is
 * 1..115 octets of printable UTF-8 without blanks (e2m_app_id_check); imsi is 5..15 digits. An app
 * id given twice is an error. Limits: EMSE_IMSI_MAP_MAX_ENTRIES entries and
 * EMSE_IMSI_MAP_MAX_BYTES octets of file; a larger file is refused as a whole.
 * IMSIs are personal data: never log one in full (emse_imsi_mask). */
#ifndef EMSE_IMSI_MAP_H
#define EMSE_IMSI_MAP_H

#include <stddef.h>
#include <stdint.h>

#define EMSE_IMSI_MAX 15
#define EMSE_IMSI_MAP_MAX_ENTRIES (1u << 20)
#define EMSE_IMSI_MAP_MAX_BYTES (256u << 20)

struct emse_imsi_map;

/* Parses text (len octets, need not be NUL-terminated). name is used in messages. On error returns
 * NULL and writes "NAME:LINE: reason" (or "NAME: reason") into err. */
struct emse_imsi_map *emse_imsi_map_parse(const char *text, size_t len, const char *name,
					  char *err, size_t err_len);
/* Reads and parses a file; as above. */
struct emse_imsi_map *emse_imsi_map_load(const char *path, char *err, size_t err_len);
/* The IMSI (NUL-terminated) of an app id, or NULL. */
const char *emse_imsi_map_lookup(const struct emse_imsi_map *m, const char *app_id,
				 size_t app_id_len);
size_t emse_imsi_map_size(const struct emse_imsi_map *m);
/* Wipes (IMSIs are personal data) and frees. NULL is fine. */
void emse_imsi_map_free(struct emse_imsi_map *m);

/* All but the last 4 digits replaced by '*': "001010000000001" -> "***********0001". out holds
 * EMSE_IMSI_MAX + 1 octets; anything that is not 5..15 digits becomes "(invalid)". */
void emse_imsi_mask(const char *imsi, char out[EMSE_IMSI_MAX + 1]);

#endif
