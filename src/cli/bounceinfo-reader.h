#ifndef BOUNCEINFO_READER_H
#define BOUNCEINFO_READER_H

/* Finds the messages in what the user named on the command line: a single
   message file, an mbox file (first line starts with "From "), a Maildir
   (a directory with cur/ and new/), any other directory (each regular
   file in it), or "-" for standard input. Messages are streamed, never
   read whole into memory. */

/* Called once per message. label is the path as given, "DIR/cur/NAME"
   for Maildir files, or "PATH#N" (N counting from 1) for the N-th
   message of an mbox. input is positioned at the start of the message
   and ends with it; the reader skips whatever the callback leaves
   unread. */
typedef void bounceinfo_reader_message_t(const char *label,
					 struct istream *input,
					 void *context);
/* Called for every input (or part of it) that could not be read. */
typedef void bounceinfo_reader_error_t(const char *label, const char *error,
				       void *context);

struct bounceinfo_reader_callbacks {
	bounceinfo_reader_message_t *message;
	bounceinfo_reader_error_t *error;
};

/* Read all messages of path. Returns 0 when everything could be read,
   -1 after at least one error was reported through the error callback. */
int bounceinfo_reader_read(const char *path,
			   const struct bounceinfo_reader_callbacks *callbacks,
			   void *context);

#endif
