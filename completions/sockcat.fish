# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sockcat_global_optspecs
    string join \n h/help V/version
end

function __fish_sockcat_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sockcat_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sockcat_using_subcommand
    set -l cmd (__fish_sockcat_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sockcat -n "__fish_sockcat_needs_command" -s h -l help -d 'Print help'
complete -c sockcat -n "__fish_sockcat_needs_command" -s V -l version -d 'Print version'
complete -c sockcat -n "__fish_sockcat_needs_command" -f -a "listen" -d 'Accept TCP (or Unix) connections and relay them to stdin/stdout'
complete -c sockcat -n "__fish_sockcat_needs_command" -f -a "connect" -d 'Open a TCP (or Unix) connection and relay it to stdin/stdout; probe ports; wait for a service'
complete -c sockcat -n "__fish_sockcat_needs_command" -f -a "resolve" -d 'Look up names, addresses, services and protocols with the C library\'s resolver'
complete -c sockcat -n "__fish_sockcat_needs_command" -f -a "sockopt" -d 'Show and set socket options on a fresh socket or a live connection'
complete -c sockcat -n "__fish_sockcat_needs_command" -f -a "byteorder" -d 'Byte-order and address conversions (htons, inet_aton, inet_pton...)'
complete -c sockcat -n "__fish_sockcat_needs_command" -f -a "udp-send" -d 'Send datagrams: MESSAGE arguments, or stdin cut by size or by line; print the replies'
complete -c sockcat -n "__fish_sockcat_needs_command" -f -a "udp-recv" -d 'Receive datagrams from any number of senders and print them (raw, line, hex, JSON lines)'
complete -c sockcat -n "__fish_sockcat_needs_command" -f -a "sendfile" -d 'Send a file over TCP with sendfile(2), or receive one (--receive)'
complete -c sockcat -n "__fish_sockcat_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l unix -d 'Listen on a Unix socket at PATH instead (or @NAME)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l backlog -d 'Listen backlog (default: SOMAXCONN)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -s w -l timeout -d 'Status 3 when no client connected within DUR' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -s o -l output -d 'Write what arrives to FILE instead of stdout' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l max-conns -d 'At most N clients at a time (more are reset)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -s e -l exec -d 'Run PROG ARGS per connection on the socket' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -s c -l sh-exec -d 'Run CMD with /bin/sh -c per connection on the socket' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l allow -d 'Admit only clients in RULE (CIDR or host)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l deny -d 'Refuse clients in RULE (CIDR or host)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l allow-file -d '--allow each RULE of FILE: one CIDR or host name per line, `#` comments (repeatable)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l deny-file -d '--deny each RULE of FILE: one CIDR or host name per line, `#` comments (repeatable)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l forward -d 'Forward each client to ENDPOINT (implies -k)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l proxy-protocol -d 'Send a PROXY protocol header to the target' -r -f -a "v1\t''
v2\t''"
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l auth-file -d 'Proxy users from FILE (USER:PASS lines)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l dest-allow -d 'Proxy only to destinations matching RULE' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l dest-deny -d 'Never proxy to destinations matching RULE' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l proxy -d 'With --forward: connect to ENDPOINT through proxy URL (repeat: a chain)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l proxy-auth-file -d 'With --forward: proxy USER:PASS from FILE\'s first line' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l forward-ca -d 'With --forward tls://: trust the CAs of FILE (PEM), not the system\'s' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l forward-pin -d 'With --forward tls://: accept the target\'s key with this SPKI SHA-256' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l hexdump -d 'Hex dump of the traffic on stderr (or =FILE)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -s i -l idle-timeout -d 'Close after DUR without traffic (status 3)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l sockopt -d 'Set a socket option, NAME=VALUE (repeatable)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l events -d 'Server events as JSON lines to FILE (-: stderr)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l cert -d 'The server\'s certificate chain (PEM)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l key -d 'The private key of --cert' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l client-ca -d 'Require a client certificate that chains to the CAs of FILE (PEM)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l alpn -d 'Accept these ALPN protocols (comma-separated)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l tls-min -d 'The oldest TLS version accepted: 1.2 (default) or 1.3' -r -f -a "1.2\t''
1.3\t''"
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l systemd -d 'Take the socket from systemd socket activation'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -s 4 -d 'Use IPv4 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -s 6 -d 'Use IPv6 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l no-reuseaddr -d 'Do not set SO_REUSEADDR (it is on by default)'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l reuseport -d 'Set SO_REUSEPORT'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -s k -l keep-open -d 'Keep listening: serve clients concurrently'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l echo -d 'Echo server: send every client\'s bytes back to it'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l stderr -d 'Send the -e/-c program\'s stderr to the connection too (as 2>&1)'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l pty -d 'Run the program of -e/-c on a pseudo-terminal'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l broker -d 'Relay each client\'s bytes to all others (implies -k)'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l accept-proxy-protocol -d 'Require a PROXY protocol header from clients'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l proxy-server -d 'Serve as a SOCKS and HTTP proxy (implies -k)'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l forward-insecure -d 'With --forward tls://: do not verify the target (warns once, with its pin)'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l recv-only -d 'Only receive: never read stdin, never send'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l send-only -d 'Only send: discard what arrives'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l close-on-eof -d 'At stdin EOF close both ways and exit 0 at once'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l no-shutdown -d 'At stdin EOF send no FIN'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l crlf -d 'Send LF as CRLF'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l progress -d 'Show bytes each way and the rate on stderr'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l mptcp -d 'Multipath TCP (IPPROTO_MPTCP)'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -s v -l verbose -d 'Say more on stderr'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -l tls -d 'Serve TLS (self-signed unless --cert)'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockcat -n "__fish_sockcat_using_subcommand listen" -s V -l version -d 'Print version'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l unix -d 'Connect to a Unix socket at PATH (@NAME: abstract) instead' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -s w -l timeout -d 'Connect timeout, the name lookup included (status 3 when it expires)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l wait-for -d 'Retry until connected, for up to DUR (status 3)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -s e -l exec -d 'Run PROG ARGS on the connection' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -s c -l sh-exec -d 'Run CMD with /bin/sh -c on the connection' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -s s -l source -d 'Bind the local end to ADDR' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l source-port -d 'Bind the local end to PORT' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l proxy -d 'Connect through proxy URL (repeat: a chain)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l proxy-auth-file -d 'Proxy USER:PASS from FILE\'s first line' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l hexdump -d 'Hex dump of the traffic on stderr (or =FILE)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -s i -l idle-timeout -d 'Close after DUR without traffic (status 3)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l sockopt -d 'Set a socket option, NAME=VALUE (repeatable)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l sni -d 'Send and check NAME instead of HOST' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l ca -d 'Trust the CAs of FILE (PEM), not the system\'s' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l pin -d 'Accept the server key with this SPKI SHA-256' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l cert -d 'Certificate chain (PEM): the client\'s, for mutual TLS' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l key -d 'The private key of --cert' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l alpn -d 'Offer these ALPN protocols (comma-separated)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l tls-min -d 'The oldest TLS version accepted: 1.2 (default) or 1.3' -r -f -a "1.2\t''
1.3\t''"
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l min-days -d 'With -z: fail a certificate expiring within N days' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -s 4 -d 'Use IPv4 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -s 6 -d 'Use IPv6 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -s z -l scan -d 'Probe: connect and close, send nothing'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l json -d 'Machine-readable output (JSON lines) for -z'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l stderr -d 'Send the -e/-c program\'s stderr to the connection too (as 2>&1)'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l pty -d 'Run the program of -e/-c on a pseudo-terminal'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l nodelay -d 'Set TCP_NODELAY'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l keepalive -d 'Set SO_KEEPALIVE'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l recv-only -d 'Only receive: never read stdin, never send'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l send-only -d 'Only send: discard what arrives'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l close-on-eof -d 'At stdin EOF close both ways and exit 0 at once'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l no-shutdown -d 'At stdin EOF send no FIN'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l crlf -d 'Send LF as CRLF'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l progress -d 'Show bytes each way and the rate on stderr'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l mptcp -d 'Multipath TCP (IPPROTO_MPTCP)'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -s v -l verbose -d 'Say more on stderr; with -z also list closed ports'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l tls -d 'TLS, verified against system roots and HOST'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l insecure -d 'Do not verify the server (warns, with its pin)'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -l show-cert -d 'Print the server\'s certificate chain on stderr'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockcat -n "__fish_sockcat_using_subcommand connect" -s V -l version -d 'Print version'
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -l service -d 'The port of each service NAME[/PROTO] (getservbyname)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -l port -d 'The service name of each port NUMBER[/PROTO] (getservbyport)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -l protocol -d 'The number of a protocol NAME, or the name of a protocol NUMBER' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -s 4 -d 'Use IPv4 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -s 6 -d 'Use IPv6 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -l all -d 'Every getaddrinfo result: family, socket type, protocol and address'
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -l canonical -d 'The canonical name of each NAME (AI_CANONNAME); with --all, printed before the results'
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -s x -l reverse -d 'Reverse lookup: the host name of each ADDR (getnameinfo, a name required)'
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -l hostname -d 'This host\'s name (gethostname)'
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -l json -d 'Machine-readable output (JSON lines)'
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockcat -n "__fish_sockcat_using_subcommand resolve" -s V -l version -d 'Print version'
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l set -d 'Set option NAME to VALUE before reading (repeatable)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l connect -d 'Use a live TCP connection to HOST PORT (or HOST:PORT) instead; adds TCP_INFO' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -s w -l timeout -d 'Connect timeout for --connect (status 3 when it expires)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l sni -d 'Send and check NAME instead of HOST' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l ca -d 'Trust the CAs of FILE (PEM), not the system\'s' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l pin -d 'Accept the server key with this SPKI SHA-256' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l cert -d 'Certificate chain (PEM): the client\'s, for mutual TLS' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l key -d 'The private key of --cert' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l alpn -d 'Offer these ALPN protocols (comma-separated)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l tls-min -d 'The oldest TLS version accepted: 1.2 (default) or 1.3' -r -f -a "1.2\t''
1.3\t''"
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l min-days -d 'With -z: fail a certificate expiring within N days' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l get -d 'Print only option NAME (repeatable); one NAME prints the value alone' -r -f -a "SO_TYPE\t''
SO_DOMAIN\t''
SO_PROTOCOL\t''
SO_ACCEPTCONN\t''
SO_ERROR\t''
SO_RCVBUF\t''
SO_SNDBUF\t''
SO_RCVLOWAT\t''
SO_SNDLOWAT\t''
SO_RCVTIMEO\t''
SO_SNDTIMEO\t''
SO_REUSEADDR\t''
SO_REUSEPORT\t''
SO_KEEPALIVE\t''
SO_BROADCAST\t''
SO_DONTROUTE\t''
SO_OOBINLINE\t''
SO_LINGER\t''
SO_PRIORITY\t''
SO_MARK\t''
TCP_NODELAY\t''
TCP_MAXSEG\t''
TCP_CORK\t''
TCP_KEEPIDLE\t''
TCP_KEEPINTVL\t''
TCP_KEEPCNT\t''
TCP_SYNCNT\t''
TCP_LINGER2\t''
TCP_DEFER_ACCEPT\t''
TCP_WINDOW_CLAMP\t''
TCP_QUICKACK\t''
TCP_USER_TIMEOUT\t''
TCP_NOTSENT_LOWAT\t''
TCP_CONGESTION\t''
IP_TTL\t''
IP_TOS\t''
IP_MTU_DISCOVER\t''
IP_RECVERR\t''
IP_FREEBIND\t''
IP_BIND_ADDRESS_NO_PORT\t''
IP_MULTICAST_TTL\t''
IP_MULTICAST_LOOP\t''
IPV6_V6ONLY\t''
IPV6_UNICAST_HOPS\t''
IPV6_TCLASS\t''
IPV6_MTU_DISCOVER\t''
IPV6_RECVERR\t''
IPV6_MULTICAST_HOPS\t''
IPV6_MULTICAST_LOOP\t''"
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l tcp -d 'A TCP socket (the default)'
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l udp -d 'A UDP socket'
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l unix -d 'A Unix-domain stream socket'
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -s 4 -d 'Use IPv4 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -s 6 -d 'Use IPv6 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l json -d 'Machine-readable output (one JSON document)'
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l tls -d 'TLS, verified against system roots and HOST'
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l insecure -d 'Do not verify the server (warns, with its pin)'
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -l show-cert -d 'Print the server\'s certificate chain on stderr'
complete -c sockcat -n "__fish_sockcat_using_subcommand sockopt" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockcat -n "__fish_sockcat_using_subcommand byteorder" -s 4 -d 'Use IPv4 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand byteorder" -s 6 -d 'Use IPv6 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand byteorder" -l hex -d 'Hex output for htons, ntohs, htonl, ntohl (0x1234)'
complete -c sockcat -n "__fish_sockcat_using_subcommand byteorder" -l json -d 'Machine-readable output (JSON lines)'
complete -c sockcat -n "__fish_sockcat_using_subcommand byteorder" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockcat -n "__fish_sockcat_using_subcommand byteorder" -s V -l version -d 'Print version'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l max-size -d 'Largest datagram: stdin is cut into pieces of this size; longer lines or messages are an error' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l count -d 'Send everything N times' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l interval -d 'Time between datagrams' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l rate -d 'Datagrams per second (default: 1000000, so a receiver keeps up; 0: as fast as possible)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l ttl -d 'IP TTL / IPv6 hop limit (multicast TTL for a multicast target)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l wait-reply -d 'After sending, print each reply until DUR passes without one (status 3 if none came)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l wait-for -d 'Send again and again until the target is up or DUR has passed (status 3)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -s s -l source -d 'Bind the local end to ADDR (for a multicast target: the interface to send from)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l source-port -d 'Bind the local end to PORT' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l unix -d 'Send to the Unix datagram socket PATH instead (`@NAME`: abstract); every argument is a MESSAGE' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l sockopt -d 'Set a socket option, NAME=VALUE (repeatable)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -s 4 -d 'Use IPv4 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -s 6 -d 'Use IPv6 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l lines -d 'One datagram per stdin line, without its newline'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l hex -d 'Messages (or stdin, or each line) are hex; whitespace is ignored'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l broadcast -d 'Allow sending to a broadcast address (SO_BROADCAST)'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -l stats -d 'Print datagrams, bytes and rate on stderr at the end'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -s v -l verbose -d 'Say more on stderr (`sending to ADDR:PORT from ADDR:PORT`)'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-send" -s V -l version -d 'Print version'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l unix -d 'Receive on the Unix datagram socket PATH instead (`@NAME`: abstract, no file)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l format -d 'How to print each datagram' -r -f -a "raw\t'The payload, byte-exact'
line\t'The payload and a newline'
hex\t'One hex line per datagram'
json\t'JSON lines with "from", "len", "hex", and "text" when the payload is UTF-8'"
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -s c -l count -d 'Exit 0 after N datagrams' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -s w -l timeout -d 'Exit when no datagram came for DUR (status 3 if none came at all)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l group -d 'Join this multicast group (SO_REUSEADDR is then on)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l recv-buffer -d 'SO_RCVBUF (default: 32M, forced past net.core.rmem_max when allowed); 512k, 4M accepted' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l events -d 'Write each sender\'s session as JSON lines to FILE (`-`: stderr)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l forward -d 'Relay datagrams to HOST:PORT, each client address with a session (a socket) of its own' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l session-idle -d 'A source quiet this long ends its session (default 60s; with --forward, replies count as traffic)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l max-sessions -d 'At most N sessions at once (default 10000)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l sockopt -d 'Set a socket option, NAME=VALUE (repeatable)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l systemd -d 'Take the socket from systemd socket activation'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -s 4 -d 'Use IPv4 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -s 6 -d 'Use IPv6 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l reply -d 'Send stdin to the most recent sender (as nc -u -l)'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l echo -d 'Send each datagram back to its sender'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l reuseaddr -d 'Set SO_REUSEADDR'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l reuseport -d 'Set SO_REUSEPORT'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -l stats -d 'Print datagrams, bytes and rate on stderr at the end (Ctrl-C / SIGTERM then end it with status 0)'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -s v -l verbose -d 'Say more on stderr (`listening on ADDR:PORT`; -vv: one line per datagram)'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockcat -n "__fish_sockcat_using_subcommand udp-recv" -s V -l version -d 'Print version'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l offset -d 'Start at byte N of FILE' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l count -d 'Send only N bytes' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l verify -d 'Frame the transfer (name, size, digest) and have the receiver check it; both sides need it' -r -f -a "blake3\t'BLAKE3 (the default; b3sum prints the same)'
sha256\t'SHA-256 (sha256sum prints the same)'"
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -s o -l output -d 'With --receive: write to FILE (or into DIR, keeping the sender\'s name; needs --verify)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -s w -l timeout -d 'Connect timeout, or with --receive the longest wait for the sender (status 3)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -s i -l idle-timeout -d 'Give up (status 3) once no byte has moved for DUR, on either side' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l wait-for -d 'Sender: keep retrying the connection until it succeeds or DUR has passed (status 3)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l proxy -d 'Connect through proxy URL (repeat: a chain)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l proxy-auth-file -d 'Proxy USER:PASS from FILE\'s first line' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l sni -d 'Send and check NAME instead of HOST' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l ca -d 'Trust the CAs of FILE (PEM), not the system\'s' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l pin -d 'Accept the server key with this SPKI SHA-256' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l cert -d 'Certificate chain (PEM): the client\'s, for mutual TLS' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l key -d 'The private key of --cert' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l alpn -d 'Offer these ALPN protocols (comma-separated)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l tls-min -d 'The oldest TLS version accepted: 1.2 (default) or 1.3' -r -f -a "1.2\t''
1.3\t''"
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l min-days -d 'With -z: fail a certificate expiring within N days' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l client-ca -d 'With --receive --tls: require a client certificate that chains to FILE (PEM)' -r -F
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l sockopt -d 'Set a socket option, NAME=VALUE (repeatable)' -r
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l receive -d 'Receive: accept one connection on [ADDR] PORT and write what arrives to -o FILE (default stdout)'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -s 4 -d 'Use IPv4 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -s 6 -d 'Use IPv6 only'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l force -d 'With --receive: replace an existing output file'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l no-progress -d 'No progress bar (it is shown only when stderr is a terminal anyway)'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l tls -d 'TLS, verified against system roots and HOST'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l insecure -d 'Do not verify the server (warns, with its pin)'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l show-cert -d 'Print the server\'s certificate chain on stderr'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -l mptcp -d 'Multipath TCP (IPPROTO_MPTCP)'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -s v -l verbose -d 'Say more on stderr: `listening on`, `connection from`, and a summary (bytes, seconds, MiB/s)'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sockcat -n "__fish_sockcat_using_subcommand sendfile" -s V -l version -d 'Print version'
complete -c sockcat -n "__fish_sockcat_using_subcommand help; and not __fish_seen_subcommand_from listen connect resolve sockopt byteorder udp-send udp-recv sendfile help" -f -a "listen" -d 'Accept TCP (or Unix) connections and relay them to stdin/stdout'
complete -c sockcat -n "__fish_sockcat_using_subcommand help; and not __fish_seen_subcommand_from listen connect resolve sockopt byteorder udp-send udp-recv sendfile help" -f -a "connect" -d 'Open a TCP (or Unix) connection and relay it to stdin/stdout; probe ports; wait for a service'
complete -c sockcat -n "__fish_sockcat_using_subcommand help; and not __fish_seen_subcommand_from listen connect resolve sockopt byteorder udp-send udp-recv sendfile help" -f -a "resolve" -d 'Look up names, addresses, services and protocols with the C library\'s resolver'
complete -c sockcat -n "__fish_sockcat_using_subcommand help; and not __fish_seen_subcommand_from listen connect resolve sockopt byteorder udp-send udp-recv sendfile help" -f -a "sockopt" -d 'Show and set socket options on a fresh socket or a live connection'
complete -c sockcat -n "__fish_sockcat_using_subcommand help; and not __fish_seen_subcommand_from listen connect resolve sockopt byteorder udp-send udp-recv sendfile help" -f -a "byteorder" -d 'Byte-order and address conversions (htons, inet_aton, inet_pton...)'
complete -c sockcat -n "__fish_sockcat_using_subcommand help; and not __fish_seen_subcommand_from listen connect resolve sockopt byteorder udp-send udp-recv sendfile help" -f -a "udp-send" -d 'Send datagrams: MESSAGE arguments, or stdin cut by size or by line; print the replies'
complete -c sockcat -n "__fish_sockcat_using_subcommand help; and not __fish_seen_subcommand_from listen connect resolve sockopt byteorder udp-send udp-recv sendfile help" -f -a "udp-recv" -d 'Receive datagrams from any number of senders and print them (raw, line, hex, JSON lines)'
complete -c sockcat -n "__fish_sockcat_using_subcommand help; and not __fish_seen_subcommand_from listen connect resolve sockopt byteorder udp-send udp-recv sendfile help" -f -a "sendfile" -d 'Send a file over TCP with sendfile(2), or receive one (--receive)'
complete -c sockcat -n "__fish_sockcat_using_subcommand help; and not __fish_seen_subcommand_from listen connect resolve sockopt byteorder udp-send udp-recv sendfile help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
