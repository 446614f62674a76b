/* Copyright (c) the dovecot-bounceinfo authors, see AUTHORS */

/* Reading the line-based data files (rules/<class>.rules, status.map, mta.map,
   ndr-layout.map, explanations/<lang>.txt): one place that opens them, skips blank and comment
   lines, trims blanks and CR, counts lines and names file:line in
   errors. */

#include "lib.h"
#include "istream.h"
#include "bounceinfo-private.h"

#include <fcntl.h>
#include <unistd.h>

int bounceinfo_datafile_open(struct bounceinfo *bi, const char *path,
			     bool optional, struct bounceinfo_datafile *file_r,
			     const char **error_r)
{
	int fd;

	i_zero(file_r);
	fd = open(path, O_RDONLY);
	if (fd == -1) {
		if (optional && errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	file_r->path = path;
	file_r->display = bounceinfo_display_path(bi, path);
	file_r->input = i_stream_create_fd_autoclose(&fd, 4096);
	i_stream_set_max_buffer_size(file_r->input, 64 * 1024);
	return 1;
}

const char *bounceinfo_datafile_next(struct bounceinfo_datafile *file)
{
	const char *line, *p;

	while ((line = i_stream_read_next_line(file->input)) != NULL) {
		file->linenum++;
		while (*line == ' ' || *line == '\t')
			line++;
		p = line + strlen(line);
		while (p > line && (p[-1] == ' ' || p[-1] == '\t' ||
				    p[-1] == '\r'))
			p--;
		if (p == line || *line == '#')
			continue;
		return t_strdup_until(line, p);
	}
	return NULL;
}

const char *bounceinfo_datafile_error(const struct bounceinfo_datafile *file,
				      const char *fmt, ...)
{
	va_list args;
	const char *msg;

	va_start(args, fmt);
	msg = t_strdup_vprintf(fmt, args);
	va_end(args);
	return t_strdup_printf("%s:%u: %s", file->display, file->linenum, msg);
}

int bounceinfo_datafile_close(struct bounceinfo_datafile *file, int ret,
			      const char **error_r)
{
	if (ret == 0 && file->input->stream_errno != 0) {
		*error_r = t_strdup_printf("read(%s) failed: %s", file->path,
					   i_stream_get_error(file->input));
		ret = -1;
	}
	i_stream_unref(&file->input);
	return ret;
}
