# by-class.sieve - one folder per bounce class, named after the class itself
#
# Bounces/quota, Bounces/user-unknown, ... (see doc/sieve-bounceinfo.md for
# the list of classes). Delay warnings go to Bounces/delayed.

require ["bounceinfo", "variables", "fileinto", "mailbox"];

if bounceinfo :kind "delayed" {
	fileinto :create "Bounces/delayed";
	stop;
}
if bounceinfo :kind ["dsn", "ndr"] {
	# ${bounceinfo.class} never holds "/" or control characters.
	fileinto :create "Bounces/${bounceinfo.class}";
	stop;
}
