/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "buffer.h"
#include "istream.h"
#include "istream-callback.h"
#include "bounceinfo-reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

/* Input buffer of the file streams; also the largest piece an mbox
   message stream hands out at once. */
#define READER_BUFFER_SIZE (64 * 1024)
/* How much of a line start is looked at to recognise From_ lines and
   escaped ">From " lines. */
#define MBOX_LINE_LOOKAHEAD 64

struct reader_context {
	const struct bounceinfo_reader_callbacks *callbacks;
	void *context;
	int ret;
};

struct mbox_reader {
	struct istream *mbox;	/* the whole mbox */
	struct istream *msg;	/* the current message */
	/* empty line seen but not yet passed on: it is dropped if a From_
	   line follows, since it belongs to the mbox, not to the message */
	const char *pending_blank;
	bool at_line_start:1;
	bool prev_blank:1;
	bool msg_end:1;		/* positioned at the next From_ line */
	bool eof:1;		/* end of the mbox (or a read error) */
};

static void
reader_error(struct reader_context *ctx, const char *label, const char *error)
{
	ctx->callbacks->error(label, error, ctx->context);
	ctx->ret = -1;
}

static bool mbox_is_from_line(const unsigned char *data, size_t size)
{
	return size >= 5 && memcmp(data, "From ", 5) == 0;
}

/* Pass the current line start on, undoing the ">From " escaping of mboxrd
   writers. Returns FALSE if the message ends here. */
static bool
mbox_line_start(struct mbox_reader *r, buffer_t *buf,
		const unsigned char *data, size_t size)
{
	size_t n;

	if (r->prev_blank && mbox_is_from_line(data, size)) {
		r->msg_end = TRUE;
		return FALSE;
	}
	if (r->pending_blank != NULL) {
		buffer_append(buf, r->pending_blank, strlen(r->pending_blank));
		r->pending_blank = NULL;
	}
	if (data[0] == '\n' || (size >= 2 && data[0] == '\r' &&
				data[1] == '\n')) {
		r->pending_blank = data[0] == '\n' ? "\n" : "\r\n";
		i_stream_skip(r->mbox, data[0] == '\n' ? 1 : 2);
		r->prev_blank = TRUE;
		return TRUE;
	}
	r->prev_blank = FALSE;
	r->at_line_start = FALSE;
	if (data[0] == '>') {
		for (n = 1; n < size && data[n] == '>'; n++) ;
		if (mbox_is_from_line(data + n, size - n))
			i_stream_skip(r->mbox, 1);
	}
	return TRUE;
}

static bool mbox_msg_read(buffer_t *buf, struct mbox_reader *r)
{
	const unsigned char *data, *p;
	size_t size, start = buf->used;
	int ret;

	/* istream-callback needs at least one byte per successful call */
	while (buf->used - start < READER_BUFFER_SIZE) {
		if (r->msg_end || r->eof)
			break;
		ret = i_stream_read_bytes(r->mbox, &data, &size,
					  r->at_line_start ?
					  MBOX_LINE_LOOKAHEAD : 1);
		if (size == 0) {
			i_assert(ret < 0);
			r->eof = TRUE;
			if (r->mbox->stream_errno != 0) {
				i_stream_callback_set_error(r->msg,
					r->mbox->stream_errno,
					i_stream_get_error(r->mbox));
			}
			break;
		}
		if (r->at_line_start) {
			if (!mbox_line_start(r, buf, data, size))
				break;
			continue;
		}
		p = memchr(data, '\n', size);
		if (p != NULL) {
			size = p - data + 1;
			r->at_line_start = TRUE;
		}
		buffer_append(buf, data, size);
		i_stream_skip(r->mbox, size);
	}
	return buf->used > start;
}

/* Skip the From_ line the mbox stream is positioned at. */
static void mbox_skip_line(struct istream *mbox)
{
	const unsigned char *data, *p;
	size_t size;

	while (i_stream_read_more(mbox, &data, &size) > 0) {
		p = memchr(data, '\n', size);
		if (p != NULL) {
			i_stream_skip(mbox, p - data + 1);
			return;
		}
		i_stream_skip(mbox, size);
	}
}

static void
read_mbox(struct reader_context *ctx, const char *path, struct istream *mbox)
{
	struct mbox_reader r;
	const unsigned char *data;
	size_t size;
	unsigned int idx = 0;

	i_zero(&r);
	r.mbox = mbox;
	while (!r.eof) {
		mbox_skip_line(mbox);
		r.pending_blank = NULL;
		r.at_line_start = TRUE;
		r.prev_blank = FALSE;
		r.msg_end = FALSE;

		T_BEGIN {
			const char *label = t_strdup_printf("%s#%u", path, ++idx);

			r.msg = i_stream_create_callback(mbox_msg_read, &r);
			i_stream_set_name(r.msg, label);
			ctx->callbacks->message(label, r.msg, ctx->context);
			/* skip what the callback did not read */
			while (i_stream_read_more(r.msg, &data, &size) > 0)
				i_stream_skip(r.msg, size);
			if (r.msg->stream_errno != 0) {
				reader_error(ctx, label,
					     i_stream_get_error(r.msg));
			}
			i_stream_unref(&r.msg);
		} T_END;
	}
}

static void
read_stream(struct reader_context *ctx, const char *label,
	    struct istream *input)
{
	const unsigned char *data;
	size_t size;

	/* A peek at the first bytes decides between mbox and a single
	   message; nothing is consumed. */
	(void)i_stream_read_bytes(input, &data, &size, 5);
	if (input->stream_errno != 0)
		reader_error(ctx, label, i_stream_get_error(input));
	else if (mbox_is_from_line(data, size))
		read_mbox(ctx, label, input);
	else {
		ctx->callbacks->message(label, input, ctx->context);
		if (input->stream_errno != 0)
			reader_error(ctx, label, i_stream_get_error(input));
	}
}

static void
read_file(struct reader_context *ctx, const char *path, int fd)
{
	struct istream *input;

	input = i_stream_create_fd_autoclose(&fd, READER_BUFFER_SIZE);
	i_stream_set_name(input, path);
	read_stream(ctx, path, input);
	i_stream_unref(&input);
}

struct dir_entry {
	const char *subdir;
	const char *name;
};
ARRAY_DEFINE_TYPE(dir_entry, struct dir_entry);

static int dir_entry_cmp(const struct dir_entry *a, const struct dir_entry *b)
{
	int ret = strcmp(a->name, b->name);

	return ret != 0 ? ret : strcmp(a->subdir, b->subdir);
}

static void
dir_collect(struct reader_context *ctx, const char *dir, const char *subdir,
	    ARRAY_TYPE(dir_entry) *entries)
{
	const char *path = subdir[0] == '\0' ? dir :
		t_strconcat(dir, "/", subdir, NULL);
	struct dirent *d;
	struct dir_entry *entry;
	DIR *dirp;

	dirp = opendir(path);
	if (dirp == NULL) {
		reader_error(ctx, path, t_strdup_printf(
			"opendir(%s) failed: %m", path));
		return;
	}
	errno = 0;
	while ((d = readdir(dirp)) != NULL) {
		/* Maildir and editors keep their own files hidden */
		if (d->d_name[0] == '.')
			continue;
		entry = array_append_space(entries);
		entry->subdir = t_strdup(subdir);
		entry->name = t_strdup(d->d_name);
	}
	if (errno != 0) {
		reader_error(ctx, path, t_strdup_printf(
			"readdir(%s) failed: %m", path));
	}
	if (closedir(dirp) < 0)
		i_error("closedir(%s) failed: %m", path);
}

static void
read_path(struct reader_context *ctx, const char *path, bool in_dir);

static void read_dir(struct reader_context *ctx, const char *dir)
{
	ARRAY_TYPE(dir_entry) entries;
	const struct dir_entry *entry;
	struct stat st;
	bool maildir;

	/* a Maildir: the messages are in cur/ and new/, tmp/ holds
	   deliveries in progress */
	maildir = stat(t_strconcat(dir, "/cur", NULL), &st) == 0 &&
		S_ISDIR(st.st_mode) &&
		stat(t_strconcat(dir, "/new", NULL), &st) == 0 &&
		S_ISDIR(st.st_mode);

	t_array_init(&entries, 64);
	if (maildir) {
		dir_collect(ctx, dir, "cur", &entries);
		dir_collect(ctx, dir, "new", &entries);
	} else {
		dir_collect(ctx, dir, "", &entries);
	}
	/* Maildir names start with the delivery time: sorting by name gives
	   a stable, roughly chronological order */
	array_sort(&entries, dir_entry_cmp);
	array_foreach(&entries, entry) T_BEGIN {
		const char *prefix = dir;
		size_t len = strlen(dir);

		while (len > 1 && prefix[len-1] == '/')
			len--;
		prefix = t_strndup(dir, len);
		if (entry->subdir[0] != '\0')
			prefix = t_strconcat(prefix, "/", entry->subdir, NULL);
		read_path(ctx, t_strconcat(prefix, "/", entry->name, NULL),
			  TRUE);
	} T_END;
}

static void
read_path(struct reader_context *ctx, const char *path, bool in_dir)
{
	struct stat st;
	int fd;

	if (strcmp(path, "-") == 0 && !in_dir) {
		struct istream *input =
			i_stream_create_fd(STDIN_FILENO, READER_BUFFER_SIZE);
		i_stream_set_name(input, "(stdin)");
		read_stream(ctx, path, input);
		i_stream_unref(&input);
		return;
	}

	fd = open(path, O_RDONLY);
	if (fd == -1 && errno == ENOENT && in_dir) {
		/* moved (new/ -> cur/) or expunged since the directory was
		   listed: normal for a Maildir in use */
		return;
	}
	if (fd == -1) {
		reader_error(ctx, path, t_strdup_printf(
			"open(%s) failed: %m", path));
		return;
	}
	if (fstat(fd, &st) < 0) {
		reader_error(ctx, path, t_strdup_printf(
			"fstat(%s) failed: %m", path));
		i_close_fd(&fd);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		i_close_fd(&fd);
		if (in_dir) {
			/* only one level: a directory of messages, not a
			   tree */
			return;
		}
		read_dir(ctx, path);
		return;
	}
	if (!S_ISREG(st.st_mode) && in_dir) {
		i_close_fd(&fd);
		return;
	}
	read_file(ctx, path, fd);
}

int bounceinfo_reader_read(const char *path,
			   const struct bounceinfo_reader_callbacks *callbacks,
			   void *context)
{
	struct reader_context ctx;

	i_zero(&ctx);
	ctx.callbacks = callbacks;
	ctx.context = context;
	T_BEGIN {
		read_path(&ctx, path, FALSE);
	} T_END;
	return ctx.ret;
}
