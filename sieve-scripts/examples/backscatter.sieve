# backscatter.sieve - forged bounces (backscatter) to Junk
#
# Spammers forge the user's address as sender; the resulting bounces are
# "backscatter". With the mail plugin loaded and bounceinfo_verify = yes,
# :verified says whether the bounced message really is in the user's Sent
# folder ("genuine") or not ("forged"). Without the mail plugin the value is
# "unchecked" and this script does nothing.

require ["bounceinfo", "fileinto", "mailbox"];

if bounceinfo :verified "forged" {
	fileinto :create "Junk";
	stop;
}
if bounceinfo :verified "genuine" {
	fileinto :create "Bounces";
}
