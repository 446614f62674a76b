#ifndef BOUNCEINFO_SETTING_DEFS_H
#define BOUNCEINFO_SETTING_DEFS_H

/* Dovecot 2.4 only: the typed settings shared by the mail plugin and the
   Sieve extension. Same names and meanings as the plugin { } settings of
   2.3 (doc/bounceinfo-settings.md); doveconf knows them through the
   settings module libbounceinfo_settings.so. */

struct bounceinfo_dovecot_settings {
	pool_t pool;

	bool keywords;
	bool verify;
	bool headers;
	const char *language;
	const char *datadir;
	/* bounceinfo_rules: absolute paths, "a b" or { a = yes } */
	ARRAY_TYPE(const_string) rules;
	uoff_t max_scan_bytes;
	unsigned int max_recipients;
};

extern const struct setting_parser_info bounceinfo_setting_parser_info;

#endif
