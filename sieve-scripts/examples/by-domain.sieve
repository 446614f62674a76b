# by-domain.sieve - bounces by the failed recipient's domain, policy
# rejections by their status code, mass failures apart
#
# Folder names must not contain "." on Maildir++ (Dovecot's default
# layout: the dot separates folders on disk), and a domain and a status
# code are full of dots. The names below therefore use the domain's main
# label ("example" for bob@mail.example.com) and write 5.7.1 as 5_7_1.

require ["bounceinfo", "variables", "fileinto", "mailbox", "relational",
	 "regex", "comparator-i;ascii-numeric"];

if bounceinfo :count "ge" :comparator "i;ascii-numeric" :class "5" {
	fileinto :create "Bounces/Mass failure";
} elsif bounceinfo :regex :status "^5\\.7\\.([0-9]+)$" {
	fileinto :create "Bounces/Policy 5_7_${1}";
} elsif bounceinfo :regex :recipient "@(.*\\.)?([^.@]+)\\.[^.@]+$" {
	fileinto :create "Bounces/By domain/${2}";
}
