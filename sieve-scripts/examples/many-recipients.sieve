# many-recipients.sieve - a bounce that reports on many recipients
#
# With relational, :count counts the reported recipients (one value per
# recipient, like a header that occurs several times).

require ["bounceinfo", "relational", "comparator-i;ascii-numeric",
	 "fileinto", "mailbox"];

if bounceinfo :count "ge" :comparator "i;ascii-numeric" :class "5" {
	fileinto :create "Bounces/Mass failure";
}
