# tld-servers.awk — makes etc/tld-servers.conf, the DNS pre-check's
# servers, from the IANA root zone: for every TLD that
# etc/registries.conf serves, the IPv4 addresses of its name servers.
#
#   awk -v src="where root.zone came from" -v date="$(date -I)" \
#       -f etc/tld-servers.awk \
#       etc/registries.conf root.zone > etc/tld-servers.conf
#
# root.zone: https://www.internic.net/domain/root.zone (IANA).  IPv4
# only: a host without an IPv6 route would spend a timeout per address.
FNR == 1 { file++ }
file == 1 && $1 == "tld" {
	for (i = 2; i <= NF; i++) {
		n = split(tolower($i), l, ".")
		want[l[n]] = 1
	}
	next
}
file == 2 && $4 == "SOA" && $1 == "." { serial = $7 }
file == 2 && $4 == "NS" {
	z = tolower($1); sub(/\.$/, "", z)
	h = tolower($5); sub(/\.$/, "", h)
	if (z in want) { ns[z] = ns[z] " " h }
}
file == 2 && $4 == "A" {
	h = tolower($1); sub(/\.$/, "", h)
	addr[h] = addr[h] " " $5
}
END {
	printf "# tld-servers.conf — the authoritative name servers of every TLD\n"
	printf "# in registries.conf, for whoisd-query's DNS pre-check (dns_servers).\n"
	printf "# \"TLD ip ip ...\": IPv4 addresses of the TLD's NS hosts, from the\n"
	printf "# glue of the IANA root zone, serial %s.\n", serial
	printf "# Source: %s\n", src
	printf "# Generated %s.\n", date
	printf "# Made by etc/tld-servers.awk (see its header to remake it).  A TLD\n"
	printf "# missing here gets no pre-check; names of a suffix below a TLD\n"
	printf "# (co.uk) are asked of the TLD's servers, and a referral to the\n"
	printf "# suffix's own zone proves nothing.\n"
	nt = 0
	for (z in want) tl[++nt] = z
	for (i = 2; i <= nt; i++) {
		v = tl[i]
		for (j = i - 1; j >= 1 && tl[j] > v; j--) tl[j + 1] = tl[j]
		tl[j + 1] = v
	}
	for (i = 1; i <= nt; i++) {
		z = tl[i]
		if (!(z in ns)) { printf "# %s: not in the root zone\n", z; continue }
		line = ""; cnt = 0
		n = split(ns[z], hs, " ")
		for (k = 1; k <= n; k++) {
			m = split(addr[hs[k]], as, " ")
			for (a = 1; a <= m && cnt < 16; a++)
				if (!((z, as[a]) in seen)) {
					seen[z, as[a]] = 1; line = line " " as[a]; cnt++
				}
		}
		if (cnt == 0) printf "# %s: no IPv4 glue\n", z
		else printf "%s%s\n", z, line
	}
}
