import { MOUNT_PATH } from './server'
import { PERMISSIONS } from './token-names'

// The standalone server's --help text.
export const USAGE = `Usage: httpipe [options]

Patchbay-style HTTP pipes: POST to ${MOUNT_PATH}/{namespace}/{channel}, GET the same path.

Also: httpipe expose --to LOCAL_URL RELAY_URL/res/{namespace}/{channel} (httpipe expose --help)

Options:
  --port N                      port to listen on, 0 for any free port (env PORT; default 3000)
  --host H                      address to bind (env HOST; default 0.0.0.0)
  --request-timeout SECONDS     longest wait for a counterpart, then 408; a running transfer is
                                never cut (env REQUEST_TIMEOUT; default: wait forever)
  --concurrency N               transfers at once on one channel (default 1)
  --max-body-size BYTES         largest message (default: none)
  --max-waiters N               waiting requests in all, then 503 (default 50000)
  --max-waiters-per-channel N   waiting requests on one channel, then 503 (default 5000)
  --max-event-size BYTES        largest message a live subscriber takes (default 1048576)
  --max-event-backlog N         events a busy live subscriber may have queued (default 100)
  --max-event-backlog-bytes BYTES
                                bytes a busy live subscriber may have queued (default 16777216)
  --stall-timeout SECONDS       a subscriber whose socket takes nothing this long is dropped
                                (default 30)
  --probe-interval SECONDS      how often waiting uploads are probed for a vanished client,
                                0 for never (default 10)
  --job-timeout SECONDS         request/response mode (/req, /res): longest wait for a two-step
                                reply, then 504 to the requester (default 60)
  --no-listing                  do not serve the namespace and channel listings
  --no-links                    refuse link producers (GET ?method=post&body=TEXT)
  --cors                        answer cross-origin requests from any origin
  --cors-origin ORIGIN          answer cross-origin requests from this origin only
  --no-ui                       do not serve the web page at ${MOUNT_PATH}/
  --tls-cert FILE               serve HTTPS (HTTP/2, and HTTP/1.1 on the same port) with this
                                certificate chain (PEM); reloaded when the file changes
  --tls-key FILE                the certificate's private key (PEM); both flags or neither
  --auth FILE                   require tokens: a JSON file of SHA-256 hashes and their grants,
                                reloaded on SIGHUP and when it changes (env HTTPIPE_AUTH_FILE)
  --anonymous LEVEL             what requests without a token may do: none, read, write (and
                                read) or all (default: all without --auth, none with it)
  --metrics                     serve Prometheus metrics at /metrics (needs prom-client installed;
                                with --auth, a token allowing metrics)
  --log-level LEVEL             fatal, error, warn, info, debug, trace or silent (default info)
  --log-format FORMAT           json (default) or pretty, one readable line per entry
  --log-channel-names           log channel names instead of a short hash of each
  -h, --help                    show this help
  -v, --version                 show the version

Tokens:
  httpipe token create --namespace NS [--channel CH] --allow read,write [--name NAME]
                                prints a new token, then its entry for the --auth file; names
                                may be glob patterns (*, ?); allow: ${PERMISSIONS.join(', ')}

Examples:
  httpipe --port 8080 --request-timeout 600
  PORT=8080 REQUEST_TIMEOUT=600 httpipe
  httpipe --max-body-size 1073741824 --max-waiters 1000 --no-listing
  httpipe --port 8443 --tls-cert fullchain.pem --tls-key privkey.pem
  curl -T file.tar.gz http://localhost:3000${MOUNT_PATH}/files/8f3a9c   # send: waits for a receiver
  curl -o file.tar.gz http://localhost:3000${MOUNT_PATH}/files/8f3a9c   # receive
`
