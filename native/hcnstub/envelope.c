/*
 * The documents the stub hands back for CoTaskMemFree, in one place: HCN error records
 * {"Success":false,"Error":"…","ErrorCode":n}, HNSCall envelopes {"Success":false,"Error":"…"} (hcsshim's
 * hnsResponse) and {"Output":…,"Success":true}, and HCS result documents {"Error":n,"ErrorMessage":"…"}.
 */
#include <stdlib.h>

#include "stub.h"

void stub_respond(char16_t **out, const char *text) {
  if (out) *out = stub_utf8_to_task_utf16(text);
}

void stub_error_doc(char16_t **out, const char *lead, const char *msg_key, const char *msg, const char *tail) {
  if (!out) return;
  sb_t b = {0};
  sb_puts(&b, "{");
  if (lead && *lead) sb_puts(&b, lead), sb_puts(&b, ",");
  sb_quote(&b, msg_key);
  sb_puts(&b, ":");
  sb_quote(&b, msg);
  if (tail && *tail) sb_puts(&b, ","), sb_puts(&b, tail);
  sb_puts(&b, "}");
  char *t = sb_take(&b);
  stub_respond(out, t);
  free(t);
}
