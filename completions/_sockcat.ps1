
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'sockcat' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'sockcat'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'sockcat' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('listen', 'listen', [CompletionResultType]::ParameterValue, 'Accept TCP (or Unix) connections and relay them to stdin/stdout')
            [CompletionResult]::new('connect', 'connect', [CompletionResultType]::ParameterValue, 'Open a TCP (or Unix) connection and relay it to stdin/stdout; probe ports; wait for a service')
            [CompletionResult]::new('resolve', 'resolve', [CompletionResultType]::ParameterValue, 'Look up names, addresses, services and protocols with the C library''s resolver')
            [CompletionResult]::new('sockopt', 'sockopt', [CompletionResultType]::ParameterValue, 'Show and set socket options on a fresh socket or a live connection')
            [CompletionResult]::new('byteorder', 'byteorder', [CompletionResultType]::ParameterValue, 'Byte-order and address conversions (htons, inet_aton, inet_pton...)')
            [CompletionResult]::new('udp-send', 'udp-send', [CompletionResultType]::ParameterValue, 'Send datagrams: MESSAGE arguments, or stdin cut by size or by line; print the replies')
            [CompletionResult]::new('udp-recv', 'udp-recv', [CompletionResultType]::ParameterValue, 'Receive datagrams from any number of senders and print them (raw, line, hex, JSON lines)')
            [CompletionResult]::new('sendfile', 'sendfile', [CompletionResultType]::ParameterValue, 'Send a file over TCP with sendfile(2), or receive one (--receive)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sockcat;listen' {
            [CompletionResult]::new('--unix', '--unix', [CompletionResultType]::ParameterName, 'Listen on a Unix socket at PATH instead (or @NAME)')
            [CompletionResult]::new('--backlog', '--backlog', [CompletionResultType]::ParameterName, 'Listen backlog (default: SOMAXCONN)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Status 3 when no client connected within DUR')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Status 3 when no client connected within DUR')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write what arrives to FILE instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write what arrives to FILE instead of stdout')
            [CompletionResult]::new('--max-conns', '--max-conns', [CompletionResultType]::ParameterName, 'At most N clients at a time (more are reset)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Run PROG ARGS per connection on the socket')
            [CompletionResult]::new('--exec', '--exec', [CompletionResultType]::ParameterName, 'Run PROG ARGS per connection on the socket')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Run CMD with /bin/sh -c per connection on the socket')
            [CompletionResult]::new('--sh-exec', '--sh-exec', [CompletionResultType]::ParameterName, 'Run CMD with /bin/sh -c per connection on the socket')
            [CompletionResult]::new('--allow', '--allow', [CompletionResultType]::ParameterName, 'Admit only clients in RULE (CIDR or host)')
            [CompletionResult]::new('--deny', '--deny', [CompletionResultType]::ParameterName, 'Refuse clients in RULE (CIDR or host)')
            [CompletionResult]::new('--allow-file', '--allow-file', [CompletionResultType]::ParameterName, '--allow each RULE of FILE: one CIDR or host name per line, `#` comments (repeatable)')
            [CompletionResult]::new('--deny-file', '--deny-file', [CompletionResultType]::ParameterName, '--deny each RULE of FILE: one CIDR or host name per line, `#` comments (repeatable)')
            [CompletionResult]::new('--forward', '--forward', [CompletionResultType]::ParameterName, 'Forward each client to ENDPOINT (implies -k)')
            [CompletionResult]::new('--proxy-protocol', '--proxy-protocol', [CompletionResultType]::ParameterName, 'Send a PROXY protocol header to the target')
            [CompletionResult]::new('--auth-file', '--auth-file', [CompletionResultType]::ParameterName, 'Proxy users from FILE (USER:PASS lines)')
            [CompletionResult]::new('--dest-allow', '--dest-allow', [CompletionResultType]::ParameterName, 'Proxy only to destinations matching RULE')
            [CompletionResult]::new('--dest-deny', '--dest-deny', [CompletionResultType]::ParameterName, 'Never proxy to destinations matching RULE')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'With --forward: connect to ENDPOINT through proxy URL (repeat: a chain)')
            [CompletionResult]::new('--proxy-auth-file', '--proxy-auth-file', [CompletionResultType]::ParameterName, 'With --forward: proxy USER:PASS from FILE''s first line')
            [CompletionResult]::new('--forward-ca', '--forward-ca', [CompletionResultType]::ParameterName, 'With --forward tls://: trust the CAs of FILE (PEM), not the system''s')
            [CompletionResult]::new('--forward-pin', '--forward-pin', [CompletionResultType]::ParameterName, 'With --forward tls://: accept the target''s key with this SPKI SHA-256')
            [CompletionResult]::new('--hexdump', '--hexdump', [CompletionResultType]::ParameterName, 'Hex dump of the traffic on stderr (or =FILE)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Close after DUR without traffic (status 3)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Close after DUR without traffic (status 3)')
            [CompletionResult]::new('--sockopt', '--sockopt', [CompletionResultType]::ParameterName, 'Set a socket option, NAME=VALUE (repeatable)')
            [CompletionResult]::new('--events', '--events', [CompletionResultType]::ParameterName, 'Server events as JSON lines to FILE (-: stderr)')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'The server''s certificate chain (PEM)')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The private key of --cert')
            [CompletionResult]::new('--client-ca', '--client-ca', [CompletionResultType]::ParameterName, 'Require a client certificate that chains to the CAs of FILE (PEM)')
            [CompletionResult]::new('--alpn', '--alpn', [CompletionResultType]::ParameterName, 'Accept these ALPN protocols (comma-separated)')
            [CompletionResult]::new('--tls-min', '--tls-min', [CompletionResultType]::ParameterName, 'The oldest TLS version accepted: 1.2 (default) or 1.3')
            [CompletionResult]::new('--systemd', '--systemd', [CompletionResultType]::ParameterName, 'Take the socket from systemd socket activation')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 only')
            [CompletionResult]::new('--no-reuseaddr', '--no-reuseaddr', [CompletionResultType]::ParameterName, 'Do not set SO_REUSEADDR (it is on by default)')
            [CompletionResult]::new('--reuseport', '--reuseport', [CompletionResultType]::ParameterName, 'Set SO_REUSEPORT')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Keep listening: serve clients concurrently')
            [CompletionResult]::new('--keep-open', '--keep-open', [CompletionResultType]::ParameterName, 'Keep listening: serve clients concurrently')
            [CompletionResult]::new('--echo', '--echo', [CompletionResultType]::ParameterName, 'Echo server: send every client''s bytes back to it')
            [CompletionResult]::new('--stderr', '--stderr', [CompletionResultType]::ParameterName, 'Send the -e/-c program''s stderr to the connection too (as 2>&1)')
            [CompletionResult]::new('--pty', '--pty', [CompletionResultType]::ParameterName, 'Run the program of -e/-c on a pseudo-terminal')
            [CompletionResult]::new('--broker', '--broker', [CompletionResultType]::ParameterName, 'Relay each client''s bytes to all others (implies -k)')
            [CompletionResult]::new('--accept-proxy-protocol', '--accept-proxy-protocol', [CompletionResultType]::ParameterName, 'Require a PROXY protocol header from clients')
            [CompletionResult]::new('--proxy-server', '--proxy-server', [CompletionResultType]::ParameterName, 'Serve as a SOCKS and HTTP proxy (implies -k)')
            [CompletionResult]::new('--forward-insecure', '--forward-insecure', [CompletionResultType]::ParameterName, 'With --forward tls://: do not verify the target (warns once, with its pin)')
            [CompletionResult]::new('--recv-only', '--recv-only', [CompletionResultType]::ParameterName, 'Only receive: never read stdin, never send')
            [CompletionResult]::new('--send-only', '--send-only', [CompletionResultType]::ParameterName, 'Only send: discard what arrives')
            [CompletionResult]::new('--close-on-eof', '--close-on-eof', [CompletionResultType]::ParameterName, 'At stdin EOF close both ways and exit 0 at once')
            [CompletionResult]::new('--no-shutdown', '--no-shutdown', [CompletionResultType]::ParameterName, 'At stdin EOF send no FIN')
            [CompletionResult]::new('--crlf', '--crlf', [CompletionResultType]::ParameterName, 'Send LF as CRLF')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show bytes each way and the rate on stderr')
            [CompletionResult]::new('--mptcp', '--mptcp', [CompletionResultType]::ParameterName, 'Multipath TCP (IPPROTO_MPTCP)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'Serve TLS (self-signed unless --cert)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sockcat;connect' {
            [CompletionResult]::new('--unix', '--unix', [CompletionResultType]::ParameterName, 'Connect to a Unix socket at PATH (@NAME: abstract) instead')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Connect timeout, the name lookup included (status 3 when it expires)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Connect timeout, the name lookup included (status 3 when it expires)')
            [CompletionResult]::new('--wait-for', '--wait-for', [CompletionResultType]::ParameterName, 'Retry until connected, for up to DUR (status 3)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Run PROG ARGS on the connection')
            [CompletionResult]::new('--exec', '--exec', [CompletionResultType]::ParameterName, 'Run PROG ARGS on the connection')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Run CMD with /bin/sh -c on the connection')
            [CompletionResult]::new('--sh-exec', '--sh-exec', [CompletionResultType]::ParameterName, 'Run CMD with /bin/sh -c on the connection')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Bind the local end to ADDR')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Bind the local end to ADDR')
            [CompletionResult]::new('--source-port', '--source-port', [CompletionResultType]::ParameterName, 'Bind the local end to PORT')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through proxy URL (repeat: a chain)')
            [CompletionResult]::new('--proxy-auth-file', '--proxy-auth-file', [CompletionResultType]::ParameterName, 'Proxy USER:PASS from FILE''s first line')
            [CompletionResult]::new('--hexdump', '--hexdump', [CompletionResultType]::ParameterName, 'Hex dump of the traffic on stderr (or =FILE)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Close after DUR without traffic (status 3)')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Close after DUR without traffic (status 3)')
            [CompletionResult]::new('--sockopt', '--sockopt', [CompletionResultType]::ParameterName, 'Set a socket option, NAME=VALUE (repeatable)')
            [CompletionResult]::new('--sni', '--sni', [CompletionResultType]::ParameterName, 'Send and check NAME instead of HOST')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CAs of FILE (PEM), not the system''s')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'Accept the server key with this SPKI SHA-256')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Certificate chain (PEM): the client''s, for mutual TLS')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The private key of --cert')
            [CompletionResult]::new('--alpn', '--alpn', [CompletionResultType]::ParameterName, 'Offer these ALPN protocols (comma-separated)')
            [CompletionResult]::new('--tls-min', '--tls-min', [CompletionResultType]::ParameterName, 'The oldest TLS version accepted: 1.2 (default) or 1.3')
            [CompletionResult]::new('--min-days', '--min-days', [CompletionResultType]::ParameterName, 'With -z: fail a certificate expiring within N days')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 only')
            [CompletionResult]::new('-z', '-z', [CompletionResultType]::ParameterName, 'Probe: connect and close, send nothing')
            [CompletionResult]::new('--scan', '--scan', [CompletionResultType]::ParameterName, 'Probe: connect and close, send nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output (JSON lines) for -z')
            [CompletionResult]::new('--stderr', '--stderr', [CompletionResultType]::ParameterName, 'Send the -e/-c program''s stderr to the connection too (as 2>&1)')
            [CompletionResult]::new('--pty', '--pty', [CompletionResultType]::ParameterName, 'Run the program of -e/-c on a pseudo-terminal')
            [CompletionResult]::new('--nodelay', '--nodelay', [CompletionResultType]::ParameterName, 'Set TCP_NODELAY')
            [CompletionResult]::new('--keepalive', '--keepalive', [CompletionResultType]::ParameterName, 'Set SO_KEEPALIVE')
            [CompletionResult]::new('--recv-only', '--recv-only', [CompletionResultType]::ParameterName, 'Only receive: never read stdin, never send')
            [CompletionResult]::new('--send-only', '--send-only', [CompletionResultType]::ParameterName, 'Only send: discard what arrives')
            [CompletionResult]::new('--close-on-eof', '--close-on-eof', [CompletionResultType]::ParameterName, 'At stdin EOF close both ways and exit 0 at once')
            [CompletionResult]::new('--no-shutdown', '--no-shutdown', [CompletionResultType]::ParameterName, 'At stdin EOF send no FIN')
            [CompletionResult]::new('--crlf', '--crlf', [CompletionResultType]::ParameterName, 'Send LF as CRLF')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'Show bytes each way and the rate on stderr')
            [CompletionResult]::new('--mptcp', '--mptcp', [CompletionResultType]::ParameterName, 'Multipath TCP (IPPROTO_MPTCP)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr; with -z also list closed ports')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr; with -z also list closed ports')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'TLS, verified against system roots and HOST')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server (warns, with its pin)')
            [CompletionResult]::new('--show-cert', '--show-cert', [CompletionResultType]::ParameterName, 'Print the server''s certificate chain on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sockcat;resolve' {
            [CompletionResult]::new('--service', '--service', [CompletionResultType]::ParameterName, 'The port of each service NAME[/PROTO] (getservbyname)')
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'The service name of each port NUMBER[/PROTO] (getservbyport)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'The number of a protocol NAME, or the name of a protocol NUMBER')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 only')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every getaddrinfo result: family, socket type, protocol and address')
            [CompletionResult]::new('--canonical', '--canonical', [CompletionResultType]::ParameterName, 'The canonical name of each NAME (AI_CANONNAME); with --all, printed before the results')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Reverse lookup: the host name of each ADDR (getnameinfo, a name required)')
            [CompletionResult]::new('--reverse', '--reverse', [CompletionResultType]::ParameterName, 'Reverse lookup: the host name of each ADDR (getnameinfo, a name required)')
            [CompletionResult]::new('--hostname', '--hostname', [CompletionResultType]::ParameterName, 'This host''s name (gethostname)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output (JSON lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sockcat;sockopt' {
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Set option NAME to VALUE before reading (repeatable)')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'Use a live TCP connection to HOST PORT (or HOST:PORT) instead; adds TCP_INFO')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Connect timeout for --connect (status 3 when it expires)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Connect timeout for --connect (status 3 when it expires)')
            [CompletionResult]::new('--sni', '--sni', [CompletionResultType]::ParameterName, 'Send and check NAME instead of HOST')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CAs of FILE (PEM), not the system''s')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'Accept the server key with this SPKI SHA-256')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Certificate chain (PEM): the client''s, for mutual TLS')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The private key of --cert')
            [CompletionResult]::new('--alpn', '--alpn', [CompletionResultType]::ParameterName, 'Offer these ALPN protocols (comma-separated)')
            [CompletionResult]::new('--tls-min', '--tls-min', [CompletionResultType]::ParameterName, 'The oldest TLS version accepted: 1.2 (default) or 1.3')
            [CompletionResult]::new('--min-days', '--min-days', [CompletionResultType]::ParameterName, 'With -z: fail a certificate expiring within N days')
            [CompletionResult]::new('--get', '--get', [CompletionResultType]::ParameterName, 'Print only option NAME (repeatable); one NAME prints the value alone')
            [CompletionResult]::new('--tcp', '--tcp', [CompletionResultType]::ParameterName, 'A TCP socket (the default)')
            [CompletionResult]::new('--udp', '--udp', [CompletionResultType]::ParameterName, 'A UDP socket')
            [CompletionResult]::new('--unix', '--unix', [CompletionResultType]::ParameterName, 'A Unix-domain stream socket')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 only')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output (one JSON document)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'TLS, verified against system roots and HOST')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server (warns, with its pin)')
            [CompletionResult]::new('--show-cert', '--show-cert', [CompletionResultType]::ParameterName, 'Print the server''s certificate chain on stderr')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'sockcat;byteorder' {
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 only')
            [CompletionResult]::new('--hex', '--hex', [CompletionResultType]::ParameterName, 'Hex output for htons, ntohs, htonl, ntohl (0x1234)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output (JSON lines)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sockcat;udp-send' {
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Largest datagram: stdin is cut into pieces of this size; longer lines or messages are an error')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Send everything N times')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between datagrams')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Datagrams per second (default: 1000000, so a receiver keeps up; 0: as fast as possible)')
            [CompletionResult]::new('--ttl', '--ttl', [CompletionResultType]::ParameterName, 'IP TTL / IPv6 hop limit (multicast TTL for a multicast target)')
            [CompletionResult]::new('--wait-reply', '--wait-reply', [CompletionResultType]::ParameterName, 'After sending, print each reply until DUR passes without one (status 3 if none came)')
            [CompletionResult]::new('--wait-for', '--wait-for', [CompletionResultType]::ParameterName, 'Send again and again until the target is up or DUR has passed (status 3)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Bind the local end to ADDR (for a multicast target: the interface to send from)')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Bind the local end to ADDR (for a multicast target: the interface to send from)')
            [CompletionResult]::new('--source-port', '--source-port', [CompletionResultType]::ParameterName, 'Bind the local end to PORT')
            [CompletionResult]::new('--unix', '--unix', [CompletionResultType]::ParameterName, 'Send to the Unix datagram socket PATH instead (`@NAME`: abstract); every argument is a MESSAGE')
            [CompletionResult]::new('--sockopt', '--sockopt', [CompletionResultType]::ParameterName, 'Set a socket option, NAME=VALUE (repeatable)')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 only')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'One datagram per stdin line, without its newline')
            [CompletionResult]::new('--hex', '--hex', [CompletionResultType]::ParameterName, 'Messages (or stdin, or each line) are hex; whitespace is ignored')
            [CompletionResult]::new('--broadcast', '--broadcast', [CompletionResultType]::ParameterName, 'Allow sending to a broadcast address (SO_BROADCAST)')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print datagrams, bytes and rate on stderr at the end')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (`sending to ADDR:PORT from ADDR:PORT`)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (`sending to ADDR:PORT from ADDR:PORT`)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sockcat;udp-recv' {
            [CompletionResult]::new('--unix', '--unix', [CompletionResultType]::ParameterName, 'Receive on the Unix datagram socket PATH instead (`@NAME`: abstract, no file)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print each datagram')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Exit 0 after N datagrams')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Exit 0 after N datagrams')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Exit when no datagram came for DUR (status 3 if none came at all)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Exit when no datagram came for DUR (status 3 if none came at all)')
            [CompletionResult]::new('--group', '--group', [CompletionResultType]::ParameterName, 'Join this multicast group (SO_REUSEADDR is then on)')
            [CompletionResult]::new('--recv-buffer', '--recv-buffer', [CompletionResultType]::ParameterName, 'SO_RCVBUF (default: 32M, forced past net.core.rmem_max when allowed); 512k, 4M accepted')
            [CompletionResult]::new('--events', '--events', [CompletionResultType]::ParameterName, 'Write each sender''s session as JSON lines to FILE (`-`: stderr)')
            [CompletionResult]::new('--forward', '--forward', [CompletionResultType]::ParameterName, 'Relay datagrams to HOST:PORT, each client address with a session (a socket) of its own')
            [CompletionResult]::new('--session-idle', '--session-idle', [CompletionResultType]::ParameterName, 'A source quiet this long ends its session (default 60s; with --forward, replies count as traffic)')
            [CompletionResult]::new('--max-sessions', '--max-sessions', [CompletionResultType]::ParameterName, 'At most N sessions at once (default 10000)')
            [CompletionResult]::new('--sockopt', '--sockopt', [CompletionResultType]::ParameterName, 'Set a socket option, NAME=VALUE (repeatable)')
            [CompletionResult]::new('--systemd', '--systemd', [CompletionResultType]::ParameterName, 'Take the socket from systemd socket activation')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 only')
            [CompletionResult]::new('--reply', '--reply', [CompletionResultType]::ParameterName, 'Send stdin to the most recent sender (as nc -u -l)')
            [CompletionResult]::new('--echo', '--echo', [CompletionResultType]::ParameterName, 'Send each datagram back to its sender')
            [CompletionResult]::new('--reuseaddr', '--reuseaddr', [CompletionResultType]::ParameterName, 'Set SO_REUSEADDR')
            [CompletionResult]::new('--reuseport', '--reuseport', [CompletionResultType]::ParameterName, 'Set SO_REUSEPORT')
            [CompletionResult]::new('--stats', '--stats', [CompletionResultType]::ParameterName, 'Print datagrams, bytes and rate on stderr at the end (Ctrl-C / SIGTERM then end it with status 0)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr (`listening on ADDR:PORT`; -vv: one line per datagram)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr (`listening on ADDR:PORT`; -vv: one line per datagram)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sockcat;sendfile' {
            [CompletionResult]::new('--offset', '--offset', [CompletionResultType]::ParameterName, 'Start at byte N of FILE')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Send only N bytes')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Frame the transfer (name, size, digest) and have the receiver check it; both sides need it')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'With --receive: write to FILE (or into DIR, keeping the sender''s name; needs --verify)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'With --receive: write to FILE (or into DIR, keeping the sender''s name; needs --verify)')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Connect timeout, or with --receive the longest wait for the sender (status 3)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Connect timeout, or with --receive the longest wait for the sender (status 3)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Give up (status 3) once no byte has moved for DUR, on either side')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Give up (status 3) once no byte has moved for DUR, on either side')
            [CompletionResult]::new('--wait-for', '--wait-for', [CompletionResultType]::ParameterName, 'Sender: keep retrying the connection until it succeeds or DUR has passed (status 3)')
            [CompletionResult]::new('--proxy', '--proxy', [CompletionResultType]::ParameterName, 'Connect through proxy URL (repeat: a chain)')
            [CompletionResult]::new('--proxy-auth-file', '--proxy-auth-file', [CompletionResultType]::ParameterName, 'Proxy USER:PASS from FILE''s first line')
            [CompletionResult]::new('--sni', '--sni', [CompletionResultType]::ParameterName, 'Send and check NAME instead of HOST')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CAs of FILE (PEM), not the system''s')
            [CompletionResult]::new('--pin', '--pin', [CompletionResultType]::ParameterName, 'Accept the server key with this SPKI SHA-256')
            [CompletionResult]::new('--cert', '--cert', [CompletionResultType]::ParameterName, 'Certificate chain (PEM): the client''s, for mutual TLS')
            [CompletionResult]::new('--key', '--key', [CompletionResultType]::ParameterName, 'The private key of --cert')
            [CompletionResult]::new('--alpn', '--alpn', [CompletionResultType]::ParameterName, 'Offer these ALPN protocols (comma-separated)')
            [CompletionResult]::new('--tls-min', '--tls-min', [CompletionResultType]::ParameterName, 'The oldest TLS version accepted: 1.2 (default) or 1.3')
            [CompletionResult]::new('--min-days', '--min-days', [CompletionResultType]::ParameterName, 'With -z: fail a certificate expiring within N days')
            [CompletionResult]::new('--client-ca', '--client-ca', [CompletionResultType]::ParameterName, 'With --receive --tls: require a client certificate that chains to FILE (PEM)')
            [CompletionResult]::new('--sockopt', '--sockopt', [CompletionResultType]::ParameterName, 'Set a socket option, NAME=VALUE (repeatable)')
            [CompletionResult]::new('--receive', '--receive', [CompletionResultType]::ParameterName, 'Receive: accept one connection on [ADDR] PORT and write what arrives to -o FILE (default stdout)')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'Use IPv4 only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'Use IPv6 only')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'With --receive: replace an existing output file')
            [CompletionResult]::new('--no-progress', '--no-progress', [CompletionResultType]::ParameterName, 'No progress bar (it is shown only when stderr is a terminal anyway)')
            [CompletionResult]::new('--tls', '--tls', [CompletionResultType]::ParameterName, 'TLS, verified against system roots and HOST')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server (warns, with its pin)')
            [CompletionResult]::new('--show-cert', '--show-cert', [CompletionResultType]::ParameterName, 'Print the server''s certificate chain on stderr')
            [CompletionResult]::new('--mptcp', '--mptcp', [CompletionResultType]::ParameterName, 'Multipath TCP (IPPROTO_MPTCP)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr: `listening on`, `connection from`, and a summary (bytes, seconds, MiB/s)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr: `listening on`, `connection from`, and a summary (bytes, seconds, MiB/s)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sockcat;help' {
            [CompletionResult]::new('listen', 'listen', [CompletionResultType]::ParameterValue, 'Accept TCP (or Unix) connections and relay them to stdin/stdout')
            [CompletionResult]::new('connect', 'connect', [CompletionResultType]::ParameterValue, 'Open a TCP (or Unix) connection and relay it to stdin/stdout; probe ports; wait for a service')
            [CompletionResult]::new('resolve', 'resolve', [CompletionResultType]::ParameterValue, 'Look up names, addresses, services and protocols with the C library''s resolver')
            [CompletionResult]::new('sockopt', 'sockopt', [CompletionResultType]::ParameterValue, 'Show and set socket options on a fresh socket or a live connection')
            [CompletionResult]::new('byteorder', 'byteorder', [CompletionResultType]::ParameterValue, 'Byte-order and address conversions (htons, inet_aton, inet_pton...)')
            [CompletionResult]::new('udp-send', 'udp-send', [CompletionResultType]::ParameterValue, 'Send datagrams: MESSAGE arguments, or stdin cut by size or by line; print the replies')
            [CompletionResult]::new('udp-recv', 'udp-recv', [CompletionResultType]::ParameterValue, 'Receive datagrams from any number of senders and print them (raw, line, hex, JSON lines)')
            [CompletionResult]::new('sendfile', 'sendfile', [CompletionResultType]::ParameterValue, 'Send a file over TCP with sendfile(2), or receive one (--receive)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sockcat;help;listen' {
            break
        }
        'sockcat;help;connect' {
            break
        }
        'sockcat;help;resolve' {
            break
        }
        'sockcat;help;sockopt' {
            break
        }
        'sockcat;help;byteorder' {
            break
        }
        'sockcat;help;udp-send' {
            break
        }
        'sockcat;help;udp-recv' {
            break
        }
        'sockcat;help;sendfile' {
            break
        }
        'sockcat;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
