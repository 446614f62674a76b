# hard-soft.sieve - hard bounces apart from soft ones
#
# Hard: the address itself is bad (unknown user or domain, disabled account):
#   remove it from your address book or mailing list.
# Soft: temporary or fixable (mailbox full, greylisting, rate limits, policy
#   or content rejections): retrying later or changing the message may help.

require ["bounceinfo", "fileinto", "mailbox", "imap4flags"];

if bounceinfo :severity "hard" {
	addflag "$BounceHard";
	fileinto :create "Bounces/Hard";
} elsif bounceinfo :severity "soft" {
	fileinto :create "Bounces/Soft";
}
