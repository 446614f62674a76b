# tag-header.sieve - add headers that say why a message bounced
#
# Needs the editheader extension (sieve_extensions = +editheader).
# The values come from the bounceinfo. namespace: without CR/LF or other
# control characters and cut to 256 bytes, so they cannot inject headers.
# Mail clients can show or filter on X-Bounce-Class; webmail can display
# X-Bounce-Explanation next to the bounce.
#
# With bounceinfo_headers = yes (the shipped conf.d) the mail plugin adds
# trusted X-Bounce-* headers itself, one of each, before any script runs;
# this script is for installations without it (it would add a second
# X-Bounce-Class in another format).

require ["bounceinfo", "variables", "editheader"];

if bounceinfo :kind ["dsn", "ndr", "delayed"] {
	addheader "X-Bounce-Class"
		"${bounceinfo.class} (${bounceinfo.severity}) ${bounceinfo.status}";
	addheader "X-Bounce-Recipient" "${bounceinfo.recipient}";
	addheader "X-Bounce-Explanation" "${bounceinfo.explanation}";
	# The same explanation in Polish, whatever bounceinfo_language says:
	addheader "X-Bounce-Explanation-PL" "${bounceinfo.explanation.pl}";
}
