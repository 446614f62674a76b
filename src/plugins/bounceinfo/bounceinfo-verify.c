/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include <stdio.h>
#include "array.h"
#include "str.h"
#include "md5.h"
#include "hostpid.h"
#include "read-full.h"
#include "write-full.h"
#include "mail-storage-private.h"
#include "mail-search-build.h"
#include "mail-search.h"
#include "bounceinfo-plugin-private.h"

/* Spoof check (bounceinfo_verify = yes): a genuine bounce returns a message
   the user really sent, so its Message-ID is in the user's \Sent mailbox.

   A header search costs one cache lookup (or header parse) per message of
   \Sent, on every bounce. So the Message-IDs of \Sent are kept, hashed,
   in a small file next to the mailbox's index (BOUNCEINFO_MSGID_FILE):
   each lookup only reads the Message-ID headers of the messages saved
   since the last one (UIDs from next_uid on) and then compares hashes.
   Expunged messages keep their hash: a bounce of a message the user sent
   and later deleted is still genuine. Without an index directory
   (INDEX=MEMORY) or when the file cannot be used, the header search is
   the fallback. */

#define BOUNCEINFO_MSGID_FILE "dovecot-bounceinfo.msgids"
#define BOUNCEINFO_MSGID_MAGIC "BIMSGID1"
/* sanity limit of the file: 64 million messages */
#define BOUNCEINFO_MSGID_MAX_HASHES (64U * 1024 * 1024)

struct bounceinfo_msgid_header {
	char magic[8];
	uint32_t uidvalidity;
	uint32_t next_uid;
};

#define BOUNCEINFO_SENT_SPECIAL_USE "\\Sent"

/* "<id@host>" -> "id@host", NULL if nothing is left */
static const char *bounceinfo_msgid_normalize(const char *msgid)
{
	const char *p, *end;

	if (msgid == NULL)
		return NULL;
	while (*msgid == ' ' || *msgid == '\t')
		msgid++;
	if (*msgid == '<')
		msgid++;
	p = strchr(msgid, '>');
	end = p != NULL ? p : msgid + strlen(msgid);
	while (end > msgid && (end[-1] == ' ' || end[-1] == '\t' ||
			       end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (end == msgid)
		return NULL;
	return t_strdup_until(msgid, end);
}

static int
bounceinfo_sent_search(struct mailbox *box, const char *msgid,
		       bool *found_r, const char **error_r)
{
	static const char *const wanted_headers[] = { "Message-ID", NULL };
	struct mailbox_transaction_context *trans;
	struct mailbox_header_lookup_ctx *headers;
	struct mail_search_args *args;
	struct mail_search_arg *arg;
	struct mail_search_context *ctx;
	struct mail *mail;
	const char *value;
	int ret = 0;

	*found_r = FALSE;
	args = mail_search_build_init();
	arg = mail_search_build_add(args, SEARCH_HEADER);
	arg->hdr_field_name = p_strdup(args->pool, "Message-ID");
	arg->value.str = p_strdup(args->pool, msgid);

	trans = mailbox_transaction_begin(box, 0, "bounceinfo verify");
	headers = mailbox_header_lookup_init(box, wanted_headers);
	ctx = mailbox_search_init(trans, args, NULL, 0, headers);
	mailbox_header_lookup_unref(&headers);
	mail_search_args_unref(&args);

	while (!*found_r && mailbox_search_next(ctx, &mail)) {
		/* the search matches substrings: insist on the whole id */
		if (mail_get_first_header(mail, "Message-ID", &value) < 0)
			continue;
		value = bounceinfo_msgid_normalize(value);
		if (value != NULL && strcmp(value, msgid) == 0)
			*found_r = TRUE;
	}
	if (mailbox_search_deinit(&ctx) < 0) {
		*error_r = mailbox_get_last_internal_error(box, NULL);
		ret = -1;
	}
	(void)mailbox_transaction_commit(&trans);
	return ret;
}

static uint64_t bounceinfo_msgid_hash(const char *msgid)
{
	unsigned char digest[MD5_RESULTLEN];
	uint64_t hash;

	md5_get_digest(msgid, strlen(msgid), digest);
	memcpy(&hash, digest, sizeof(hash));
	return hash;
}

/* Read the hash file into hashes; FALSE if it is missing, damaged or for
   another uidvalidity (then it is rebuilt). */
static bool
bounceinfo_msgid_file_read(const char *path, uint32_t uidvalidity,
			   uint32_t *next_uid_r, ARRAY_TYPE(uint64_t) *hashes,
			   struct event *event)
{
	struct bounceinfo_msgid_header hdr;
	struct stat st;
	size_t size;
	bool ret = FALSE;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd == -1) {
		if (errno != ENOENT)
			e_error(event, "open(%s) failed: %m", path);
		return FALSE;
	}
	if (fstat(fd, &st) < 0) {
		e_error(event, "fstat(%s) failed: %m", path);
	} else if (st.st_size < (off_t)sizeof(hdr) ||
		   (st.st_size - sizeof(hdr)) % sizeof(uint64_t) != 0 ||
		   (st.st_size - sizeof(hdr)) / sizeof(uint64_t) >
		   BOUNCEINFO_MSGID_MAX_HASHES) {
		e_debug(event, "%s: bad size, rebuilding it", path);
	} else if (read_full(fd, &hdr, sizeof(hdr)) <= 0) {
		e_error(event, "read(%s) failed: %m", path);
	} else if (memcmp(hdr.magic, BOUNCEINFO_MSGID_MAGIC,
			  sizeof(hdr.magic)) != 0 ||
		   hdr.uidvalidity != uidvalidity || hdr.next_uid == 0) {
		e_debug(event, "%s: other format or uidvalidity, "
			"rebuilding it", path);
	} else {
		uint64_t chunk[1024];
		size_t n;

		size = st.st_size - sizeof(hdr);
		array_clear(hashes);
		ret = TRUE;
		while (size > 0) {
			n = I_MIN(size, sizeof(chunk));
			if (read_full(fd, chunk, n) <= 0) {
				e_error(event, "read(%s) failed: %m", path);
				ret = FALSE;
				break;
			}
			array_append(hashes, chunk, n / sizeof(uint64_t));
			size -= n;
		}
		*next_uid_r = hdr.next_uid;
	}
	i_close_fd(&fd);
	if (!ret)
		array_clear(hashes);
	return ret;
}

/* Replace the file atomically: concurrent deliveries each write a
   complete file, the last rename wins. */
static void
bounceinfo_msgid_file_write(const char *path, uint32_t uidvalidity,
			    uint32_t next_uid,
			    const ARRAY_TYPE(uint64_t) *hashes,
			    struct event *event)
{
	struct bounceinfo_msgid_header hdr;
	const char *temp_path;
	int fd;

	i_zero(&hdr);
	memcpy(hdr.magic, BOUNCEINFO_MSGID_MAGIC, sizeof(hdr.magic));
	hdr.uidvalidity = uidvalidity;
	hdr.next_uid = next_uid;

	temp_path = t_strdup_printf("%s.%s.%s.tmp", path, my_hostname,
				    my_pid);
	fd = open(temp_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1) {
		e_error(event, "open(%s) failed: %m", temp_path);
		return;
	}
	if (write_full(fd, &hdr, sizeof(hdr)) < 0 ||
	    (array_count(hashes) > 0 &&
	     write_full(fd, array_front(hashes),
			array_count(hashes) * sizeof(uint64_t)) < 0)) {
		e_error(event, "write(%s) failed: %m", temp_path);
		i_close_fd(&fd);
		i_unlink(temp_path);
		return;
	}
	i_close_fd(&fd);
	if (rename(temp_path, path) < 0) {
		e_error(event, "rename(%s, %s) failed: %m", temp_path, path);
		i_unlink(temp_path);
	}
}

/* Add the hashes of the Message-IDs of box's messages with UID >= uid1. */
static int
bounceinfo_msgid_add_new(struct mailbox *box, uint32_t uid1,
			 ARRAY_TYPE(uint64_t) *hashes)
{
	static const char *const wanted_headers[] = { "Message-ID", NULL };
	struct mailbox_transaction_context *trans;
	struct mailbox_header_lookup_ctx *headers;
	struct mail *mail;
	const char *value;
	uint32_t seq, seq1, seq2;
	int ret = 0;

	mailbox_get_seq_range(box, uid1, (uint32_t)-1, &seq1, &seq2);
	if (seq1 == 0)
		return 0;
	trans = mailbox_transaction_begin(box, 0, "bounceinfo verify index");
	headers = mailbox_header_lookup_init(box, wanted_headers);
	mail = mail_alloc(trans, 0, headers);
	mailbox_header_lookup_unref(&headers);
	for (seq = seq1; seq <= seq2; seq++) {
		mail_set_seq(mail, seq);
		if (mail_get_first_header(mail, "Message-ID", &value) < 0) {
			if (mail->expunged)
				continue;
			ret = -1;
			break;
		}
		value = bounceinfo_msgid_normalize(value);
		if (value != NULL) {
			uint64_t hash = bounceinfo_msgid_hash(value);
			array_push_back(hashes, &hash);
		}
	}
	mail_free(&mail);
	(void)mailbox_transaction_commit(&trans);
	return ret;
}

/* Look msgid up through the hash file. Returns 1 if answered, 0 if the
   mailbox has no index directory or the file could not be brought up to
   date (the caller searches instead). */
static int
bounceinfo_msgid_index_lookup(struct mailbox *box, const char *msgid,
			      bool *found_r, struct event *event)
{
	struct mailbox_status status;
	ARRAY_TYPE(uint64_t) hashes;
	const uint64_t *hash;
	const char *dir, *path;
	uint32_t next_uid = 1;
	uint64_t want;
	unsigned int old_count;
	int ret;

	if (mailbox_get_path_to(box, MAILBOX_LIST_PATH_TYPE_INDEX, &dir) <= 0)
		return 0;
	mailbox_get_open_status(box, STATUS_UIDVALIDITY | STATUS_UIDNEXT,
				&status);
	path = t_strconcat(dir, "/", BOUNCEINFO_MSGID_FILE, NULL);

	i_array_init(&hashes, 1024);
	if (!bounceinfo_msgid_file_read(path, status.uidvalidity, &next_uid,
					&hashes, event)) {
		/* Building the file: sync once, so that a \Sent that
		   Dovecot never indexed (files copied in) is complete. */
		if (mailbox_sync(box, 0) < 0) {
			array_free(&hashes);
			return 0;
		}
		mailbox_get_open_status(box, STATUS_UIDVALIDITY |
					STATUS_UIDNEXT, &status);
		next_uid = 1;
	}
	old_count = array_count(&hashes);
	ret = 1;
	if (next_uid < status.uidnext) {
		if (bounceinfo_msgid_add_new(box, next_uid, &hashes) < 0) {
			e_error(event, "bounceinfo_verify: Failed to read "
				"Message-IDs of %s: %s",
				mailbox_get_vname(box),
				mailbox_get_last_internal_error(box, NULL));
			ret = 0;
		} else {
			e_debug(event, "bounceinfo_verify: %u Message-IDs of "
				"%s added to %s",
				array_count(&hashes) - old_count,
				mailbox_get_vname(box), path);
			bounceinfo_msgid_file_write(path, status.uidvalidity,
						    status.uidnext, &hashes,
						    event);
		}
	}
	if (ret > 0) {
		want = bounceinfo_msgid_hash(msgid);
		*found_r = FALSE;
		array_foreach(&hashes, hash) {
			if (*hash == want) {
				*found_r = TRUE;
				break;
			}
		}
	}
	array_free(&hashes);
	return ret;
}

enum bounceinfo_verify_result
bounceinfo_verify_original(struct mail_user *user,
			   const struct bounceinfo_result *result)
{
	struct bounceinfo_user *buser = BOUNCEINFO_USER_CONTEXT(user);
	struct event *event = buser != NULL ? buser->event : user->event;
	enum bounceinfo_verify_result res = BOUNCEINFO_VERIFY_UNCHECKED;
	struct mailbox *box;
	const char *msgid, *error;
	bool found;

	msgid = bounceinfo_msgid_normalize(result->original.message_id);
	if (msgid == NULL)
		return BOUNCEINFO_VERIFY_NOT_APPLICABLE;

	box = mailbox_alloc_for_user(user, BOUNCEINFO_SENT_SPECIAL_USE,
				     MAILBOX_FLAG_SPECIAL_USE |
				     MAILBOX_FLAG_READONLY);
	if (!mailbox_has_special_use(box, BOUNCEINFO_SENT_SPECIAL_USE)) {
		e_error(event, "bounceinfo_verify: user has no mailbox with "
			"special_use = \\Sent, the bounce is left unchecked");
	} else if (mailbox_open(box) < 0) {
		/* Opened, not synced: the index already knows every message
		   Dovecot saved (APPEND, Sieve, LDA); a maildir sync would
		   read the whole dovecot-uidlist on each delivery. */
		enum mail_error error;
		const char *errstr =
			mailbox_get_last_internal_error(box, &error);

		if (error == MAIL_ERROR_NOTFOUND) {
			/* \Sent is configured but was never created: the
			   user has sent nothing from here */
			res = BOUNCEINFO_VERIFY_FORGED;
			e_debug(event, "bounceinfo_verify: <%s> not found: "
				"%s does not exist", msgid,
				mailbox_get_vname(box));
		} else {
			e_error(event, "bounceinfo_verify: "
				"Failed to open %s: %s",
				mailbox_get_vname(box), errstr);
		}
	} else if (bounceinfo_msgid_index_lookup(box, msgid, &found,
						 event) > 0) {
		res = found ? BOUNCEINFO_VERIFY_GENUINE :
			BOUNCEINFO_VERIFY_FORGED;
		e_debug(event, "bounceinfo_verify: <%s> %s in %s (hashed "
			"Message-IDs)", msgid, found ? "found" : "not found",
			mailbox_get_vname(box));
	} else if (mailbox_sync(box, 0) < 0 ||
		   bounceinfo_sent_search(box, msgid, &found, &error) < 0) {
		e_error(event, "bounceinfo_verify: Failed to search %s: %s",
			mailbox_get_vname(box),
			mailbox_get_last_internal_error(box, NULL));
	} else {
		res = found ? BOUNCEINFO_VERIFY_GENUINE :
			BOUNCEINFO_VERIFY_FORGED;
		e_debug(event, "bounceinfo_verify: <%s> %s in %s", msgid,
			found ? "found" : "not found", mailbox_get_vname(box));
	}
	mailbox_free(&box);
	return res;
}
