
use builtin;
use str;

set edit:completion:arg-completer[sockcat] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'sockcat'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'sockcat'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand listen 'Accept TCP (or Unix) connections and relay them to stdin/stdout'
            cand connect 'Open a TCP (or Unix) connection and relay it to stdin/stdout; probe ports; wait for a service'
            cand resolve 'Look up names, addresses, services and protocols with the C library''s resolver'
            cand sockopt 'Show and set socket options on a fresh socket or a live connection'
            cand byteorder 'Byte-order and address conversions (htons, inet_aton, inet_pton...)'
            cand udp-send 'Send datagrams: MESSAGE arguments, or stdin cut by size or by line; print the replies'
            cand udp-recv 'Receive datagrams from any number of senders and print them (raw, line, hex, JSON lines)'
            cand sendfile 'Send a file over TCP with sendfile(2), or receive one (--receive)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sockcat;listen'= {
            cand --unix 'Listen on a Unix socket at PATH instead (or @NAME)'
            cand --backlog 'Listen backlog (default: SOMAXCONN)'
            cand -w 'Status 3 when no client connected within DUR'
            cand --timeout 'Status 3 when no client connected within DUR'
            cand -o 'Write what arrives to FILE instead of stdout'
            cand --output 'Write what arrives to FILE instead of stdout'
            cand --max-conns 'At most N clients at a time (more are reset)'
            cand -e 'Run PROG ARGS per connection on the socket'
            cand --exec 'Run PROG ARGS per connection on the socket'
            cand -c 'Run CMD with /bin/sh -c per connection on the socket'
            cand --sh-exec 'Run CMD with /bin/sh -c per connection on the socket'
            cand --allow 'Admit only clients in RULE (CIDR or host)'
            cand --deny 'Refuse clients in RULE (CIDR or host)'
            cand --allow-file '--allow each RULE of FILE: one CIDR or host name per line, `#` comments (repeatable)'
            cand --deny-file '--deny each RULE of FILE: one CIDR or host name per line, `#` comments (repeatable)'
            cand --forward 'Forward each client to ENDPOINT (implies -k)'
            cand --proxy-protocol 'Send a PROXY protocol header to the target'
            cand --auth-file 'Proxy users from FILE (USER:PASS lines)'
            cand --dest-allow 'Proxy only to destinations matching RULE'
            cand --dest-deny 'Never proxy to destinations matching RULE'
            cand --proxy 'With --forward: connect to ENDPOINT through proxy URL (repeat: a chain)'
            cand --proxy-auth-file 'With --forward: proxy USER:PASS from FILE''s first line'
            cand -i 'Close after DUR without traffic (status 3)'
            cand --idle-timeout 'Close after DUR without traffic (status 3)'
            cand --sockopt 'Set a socket option, NAME=VALUE (repeatable)'
            cand --events 'JSON lines of accepts, refusals, closes to FILE (-: stderr)'
            cand --systemd 'Take the socket from systemd socket activation'
            cand -4 'Use IPv4 only'
            cand -6 'Use IPv6 only'
            cand --no-reuseaddr 'Do not set SO_REUSEADDR (it is on by default)'
            cand --reuseport 'Set SO_REUSEPORT'
            cand -k 'Keep listening: serve clients concurrently'
            cand --keep-open 'Keep listening: serve clients concurrently'
            cand --echo 'Echo server: send every client''s bytes back to it'
            cand --pty 'Run the program of -e/-c on a pseudo-terminal'
            cand --broker 'Relay each client''s bytes to all others (implies -k)'
            cand --accept-proxy-protocol 'Require a PROXY protocol header from clients'
            cand --proxy-server 'Serve as a SOCKS and HTTP proxy (implies -k)'
            cand --recv-only 'Only receive: never read stdin, never send'
            cand --send-only 'Only send: discard what arrives'
            cand --close-on-eof 'At stdin EOF close both ways and exit 0 at once'
            cand --no-shutdown 'At stdin EOF send no FIN'
            cand --crlf 'Send LF as CRLF'
            cand --hexdump 'Hex dump of the traffic on stderr'
            cand --progress 'Show progress on stderr: bytes each way and the rate'
            cand --mptcp 'Multipath TCP (IPPROTO_MPTCP)'
            cand -v 'Say more on stderr'
            cand --verbose 'Say more on stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sockcat;connect'= {
            cand --unix 'Connect to a Unix socket at PATH (@NAME: abstract) instead'
            cand -w 'Connect timeout (status 3 when it expires)'
            cand --timeout 'Connect timeout (status 3 when it expires)'
            cand --wait-for 'Retry until connected or DUR has passed (status 3)'
            cand -e 'Run PROG ARGS on the connection'
            cand --exec 'Run PROG ARGS on the connection'
            cand -c 'Run CMD with /bin/sh -c on the connection'
            cand --sh-exec 'Run CMD with /bin/sh -c on the connection'
            cand -s 'Bind the local end to ADDR'
            cand --source 'Bind the local end to ADDR'
            cand --source-port 'Bind the local end to PORT'
            cand --proxy 'Connect through proxy URL (repeat: a chain)'
            cand --proxy-auth-file 'Proxy USER:PASS from FILE''s first line'
            cand -i 'Close after DUR without traffic (status 3)'
            cand --idle-timeout 'Close after DUR without traffic (status 3)'
            cand --sockopt 'Set a socket option, NAME=VALUE (repeatable)'
            cand -4 'Use IPv4 only'
            cand -6 'Use IPv6 only'
            cand -z 'Probe: connect and close, send nothing'
            cand --scan 'Probe: connect and close, send nothing'
            cand --json 'Machine-readable output (JSON lines) for -z'
            cand --pty 'Run the program of -e/-c on a pseudo-terminal'
            cand --nodelay 'Set TCP_NODELAY'
            cand --keepalive 'Set SO_KEEPALIVE'
            cand --recv-only 'Only receive: never read stdin, never send'
            cand --send-only 'Only send: discard what arrives'
            cand --close-on-eof 'At stdin EOF close both ways and exit 0 at once'
            cand --no-shutdown 'At stdin EOF send no FIN'
            cand --crlf 'Send LF as CRLF'
            cand --hexdump 'Hex dump of the traffic on stderr'
            cand --progress 'Show progress on stderr: bytes each way and the rate'
            cand --mptcp 'Multipath TCP (IPPROTO_MPTCP)'
            cand -v 'Say more on stderr; with -z also list closed ports'
            cand --verbose 'Say more on stderr; with -z also list closed ports'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sockcat;resolve'= {
            cand --service 'The port of each service NAME[/PROTO] (getservbyname)'
            cand --port 'The service name of each port NUMBER[/PROTO] (getservbyport)'
            cand --protocol 'The number of a protocol NAME, or the name of a protocol NUMBER'
            cand -4 'Use IPv4 only'
            cand -6 'Use IPv6 only'
            cand --all 'Every getaddrinfo result: family, socket type, protocol and address'
            cand --canonical 'The canonical name of each NAME (AI_CANONNAME); with --all, printed before the results'
            cand -x 'Reverse lookup: the host name of each ADDR (getnameinfo, a name required)'
            cand --reverse 'Reverse lookup: the host name of each ADDR (getnameinfo, a name required)'
            cand --hostname 'This host''s name (gethostname)'
            cand --json 'Machine-readable output (JSON lines)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sockcat;sockopt'= {
            cand --set 'Set option NAME to VALUE before reading (repeatable)'
            cand --connect 'Use a live TCP connection to HOST PORT (or HOST:PORT) instead; adds TCP_INFO'
            cand -w 'Connect timeout for --connect (status 3 when it expires)'
            cand --timeout 'Connect timeout for --connect (status 3 when it expires)'
            cand --get 'Print only option NAME (repeatable); one NAME prints the value alone'
            cand --tcp 'A TCP socket (the default)'
            cand --udp 'A UDP socket'
            cand --unix 'A Unix-domain stream socket'
            cand -4 'Use IPv4 only'
            cand -6 'Use IPv6 only'
            cand --json 'Machine-readable output (one JSON document)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'sockcat;byteorder'= {
            cand -4 'Use IPv4 only'
            cand -6 'Use IPv6 only'
            cand --hex 'Hex output for htons, ntohs, htonl, ntohl (0x1234)'
            cand --json 'Machine-readable output (JSON lines)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sockcat;udp-send'= {
            cand --max-size 'Largest datagram: stdin is cut into pieces of this size; longer lines or messages are an error'
            cand --count 'Send everything N times'
            cand --interval 'Time between datagrams'
            cand --rate 'Datagrams per second (default: 1000000, so a receiver keeps up; 0: as fast as possible)'
            cand --ttl 'IP TTL / IPv6 hop limit (multicast TTL for a multicast target)'
            cand --wait-reply 'After sending, print each reply until DUR passes without one (status 3 if none came)'
            cand -s 'Bind the local end to ADDR (for a multicast target: the interface to send from)'
            cand --source 'Bind the local end to ADDR (for a multicast target: the interface to send from)'
            cand --source-port 'Bind the local end to PORT'
            cand --unix 'Send to the Unix datagram socket PATH instead (`@NAME`: abstract); every argument is a MESSAGE'
            cand --sockopt 'Set a socket option, NAME=VALUE (repeatable)'
            cand -4 'Use IPv4 only'
            cand -6 'Use IPv6 only'
            cand --lines 'One datagram per stdin line, without its newline'
            cand --hex 'Messages (or stdin, or each line) are hex; whitespace is ignored'
            cand --broadcast 'Allow sending to a broadcast address (SO_BROADCAST)'
            cand --stats 'Print datagrams, bytes and rate on stderr at the end'
            cand -v 'Say more on stderr (`sending to ADDR:PORT from ADDR:PORT`)'
            cand --verbose 'Say more on stderr (`sending to ADDR:PORT from ADDR:PORT`)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sockcat;udp-recv'= {
            cand --unix 'Receive on the Unix datagram socket PATH instead (`@NAME`: abstract, no file)'
            cand --format 'How to print each datagram'
            cand -c 'Exit 0 after N datagrams'
            cand --count 'Exit 0 after N datagrams'
            cand -w 'Exit when no datagram came for DUR (status 3 if none came at all)'
            cand --timeout 'Exit when no datagram came for DUR (status 3 if none came at all)'
            cand --group 'Join this multicast group (SO_REUSEADDR is then on)'
            cand --recv-buffer 'SO_RCVBUF (default: 32M, forced past net.core.rmem_max when allowed); 512k, 4M accepted'
            cand --events 'Write each sender''s session as JSON lines to FILE (`-`: stderr)'
            cand --session-idle 'A source quiet this long ends its session (default 60s)'
            cand --max-sessions 'At most N sessions at once (default 10000; --events closes the quietest to make room)'
            cand --sockopt 'Set a socket option, NAME=VALUE (repeatable)'
            cand --systemd 'Take the socket from systemd socket activation'
            cand -4 'Use IPv4 only'
            cand -6 'Use IPv6 only'
            cand --echo 'Send each datagram back to its sender'
            cand --reuseaddr 'Set SO_REUSEADDR'
            cand --reuseport 'Set SO_REUSEPORT'
            cand --stats 'Print datagrams, bytes and rate on stderr at the end (Ctrl-C / SIGTERM then end it with status 0)'
            cand -v 'Say more on stderr (`listening on ADDR:PORT`; -vv: one line per datagram)'
            cand --verbose 'Say more on stderr (`listening on ADDR:PORT`; -vv: one line per datagram)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sockcat;sendfile'= {
            cand --offset 'Start at byte N of FILE'
            cand --count 'Send only N bytes'
            cand --verify 'Frame the transfer (name, size, digest) and have the receiver check it; both sides need it'
            cand -o 'With --receive: write to FILE (or into DIR, keeping the sender''s name; needs --verify)'
            cand --output 'With --receive: write to FILE (or into DIR, keeping the sender''s name; needs --verify)'
            cand -w 'Connect timeout, or with --receive the longest wait for the sender (status 3)'
            cand --timeout 'Connect timeout, or with --receive the longest wait for the sender (status 3)'
            cand -i 'Give up (status 3) once no byte has moved for DUR, on either side'
            cand --idle-timeout 'Give up (status 3) once no byte has moved for DUR, on either side'
            cand --wait-for 'Sender: keep retrying the connection until it succeeds or DUR has passed (status 3)'
            cand --proxy 'Connect through proxy URL (repeat: a chain)'
            cand --proxy-auth-file 'Proxy USER:PASS from FILE''s first line'
            cand --sockopt 'Set a socket option, NAME=VALUE (repeatable)'
            cand --receive 'Receive: accept one connection on [ADDR] PORT and write what arrives to -o FILE (default stdout)'
            cand -4 'Use IPv4 only'
            cand -6 'Use IPv6 only'
            cand --force 'With --receive: replace an existing output file'
            cand --no-progress 'No progress bar (it is shown only when stderr is a terminal anyway)'
            cand --mptcp 'Multipath TCP (IPPROTO_MPTCP)'
            cand -v 'Say more on stderr: `listening on`, `connection from`, and a summary (bytes, seconds, MiB/s)'
            cand --verbose 'Say more on stderr: `listening on`, `connection from`, and a summary (bytes, seconds, MiB/s)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'sockcat;help'= {
            cand listen 'Accept TCP (or Unix) connections and relay them to stdin/stdout'
            cand connect 'Open a TCP (or Unix) connection and relay it to stdin/stdout; probe ports; wait for a service'
            cand resolve 'Look up names, addresses, services and protocols with the C library''s resolver'
            cand sockopt 'Show and set socket options on a fresh socket or a live connection'
            cand byteorder 'Byte-order and address conversions (htons, inet_aton, inet_pton...)'
            cand udp-send 'Send datagrams: MESSAGE arguments, or stdin cut by size or by line; print the replies'
            cand udp-recv 'Receive datagrams from any number of senders and print them (raw, line, hex, JSON lines)'
            cand sendfile 'Send a file over TCP with sendfile(2), or receive one (--receive)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'sockcat;help;listen'= {
        }
        &'sockcat;help;connect'= {
        }
        &'sockcat;help;resolve'= {
        }
        &'sockcat;help;sockopt'= {
        }
        &'sockcat;help;byteorder'= {
        }
        &'sockcat;help;udp-send'= {
        }
        &'sockcat;help;udp-recv'= {
        }
        &'sockcat;help;sendfile'= {
        }
        &'sockcat;help;help'= {
        }
    ]
    $completions[$command]
}
