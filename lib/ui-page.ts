import { createHash } from 'node:crypto'

// The browser page served at the mount path (option `ui`): one self-contained document, no build
// step and no external assets. Its script and style are inline, allowed by the CSP through their
// sha256 hashes, computed below from the exact text so that the policy follows any edit.
//
// The script is plain ES2020 inside a String.raw template: it must contain no backtick and no
// dollar-brace (the template would end or interpolate), and no `</script`. Everything it shows
// that comes from the network goes through textContent, never through HTML parsing, and it has
// no inline event handlers (the CSP blocks them): listeners are attached with addEventListener.

const STYLE = `
:root {
  color-scheme: light dark;
  --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa; --border: #c8d1da;
  --accent: #0b5cad; --on-accent: #ffffff; --ok: #1a7f37; --err: #b42318;
}
@media (prefers-color-scheme: dark) {
  :root {
    --fg: #e6edf3; --muted: #9aa4ae; --bg: #0d1117; --panel: #161b22; --border: #3b434c;
    --accent: #58a6ff; --on-accent: #0d1117; --ok: #3fb950; --err: #ff7b72;
  }
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 46rem; margin: 0 auto; padding: 0.75rem; }
h1 { font-size: 1.5rem; margin: 0.5rem 0 0.25rem; }
h2 { font-size: 1.125rem; margin: 0 0 0.5rem; }
p { margin: 0.5rem 0; }
section { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 0.75rem 1rem 1rem; margin: 1rem 0; }
label { display: block; font-weight: 600; margin: 0.75rem 0 0.25rem; }
.check { display: flex; align-items: center; gap: 0.5rem; margin-top: 0.75rem; }
.check label { display: inline; font-weight: normal; margin: 0; }
.check input { width: 1.25rem; height: 1.25rem; margin: 0; }
input[type=text], textarea { display: block; width: 100%; padding: 0.5rem; font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--border); border-radius: 6px; }
textarea { resize: vertical; min-height: 5.5rem; }
input[type=file] { max-width: 100%; font: inherit; }
.row { display: flex; flex-wrap: wrap; gap: 0 0.75rem; align-items: flex-end; }
.row > .field { flex: 1 1 12rem; min-width: 0; }
.buttons { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.75rem 0 0.25rem; }
button { font: inherit; min-height: 2.75rem; padding: 0.4rem 1rem; border-radius: 6px; border: 1px solid var(--border); background: var(--bg); color: inherit; cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: var(--on-accent); font-weight: 600; }
button:disabled { opacity: 0.5; cursor: not-allowed; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
progress { display: block; width: 100%; height: 1rem; }
.status { min-height: 1.5em; color: var(--muted); overflow-wrap: anywhere; }
.status[data-state=ok] { color: var(--ok); }
.status[data-state=error] { color: var(--err); }
.hint { color: var(--muted); font-size: 0.9rem; }
code { font: 0.9rem ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
pre, #messages li { white-space: pre-wrap; overflow-wrap: anywhere; font: 0.95rem/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { margin: 0.75rem 0 0; padding: 0.75rem; max-height: 20rem; overflow: auto; background: var(--bg); border: 1px solid var(--border); border-radius: 6px; }
#received-file a { font-weight: 600; color: var(--accent); overflow-wrap: anywhere; }
#messages { margin: 0.5rem 0 0; padding-left: 1.75rem; }
#messages li { padding: 0.25rem 0; border-bottom: 1px solid var(--border); }
`

const SCRIPT = String.raw`
(function () {
  'use strict'

  function $ (id) { return document.getElementById(id) }

  var nsInput = $('namespace')
  var chInput = $('channel')
  var pubsubBox = $('pubsub')
  var urlCode = $('channel-url')
  var textInput = $('text')
  var fileInput = $('file')
  var fileClear = $('file-clear')
  var sendButton = $('send')
  var sendAbort = $('send-abort')
  var uploadBar = $('upload-progress')
  var sendStatus = $('send-status')
  var receiveButton = $('receive')
  var receiveAbort = $('receive-abort')
  var downloadBar = $('download-progress')
  var receiveStatus = $('receive-status')
  var receivedText = $('received-text')
  var receivedFile = $('received-file')
  var downloadLink = $('download-link')
  var receivedSize = $('received-size')
  var saveButton = $('save')
  var subscribeButton = $('subscribe')
  var unsubscribeButton = $('unsubscribe')
  var subscribeStatus = $('subscribe-status')
  var messageList = $('messages')

  var sending = null
  var receiving = null
  var source = null
  var objectUrl = null

  // ---- names, URLs and the location hash ----

  // The API lives where this page is served, whether at /channels or /channels/.
  function apiBase () {
    var path = location.pathname
    return path.charAt(path.length - 1) === '/' ? path : path + '/'
  }

  function nameProblem (label, value) {
    if (value === '') return 'Enter a ' + label + '.'
    if (value === '.' || value === '..') return 'The ' + label + ' cannot be "." or ".." (a browser rewrites them in URLs).'
    if (value.indexOf('/') !== -1) return 'The ' + label + ' cannot contain "/".'
    if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return 'The ' + label + ' cannot contain control characters.'
    if (Array.from(value).length > 256) return 'The ' + label + ' is longer than 256 characters.'
    return ''
  }

  // { url } for the current names, or { error } saying what to fix.
  function target (withPubsub) {
    var problem = nameProblem('namespace', nsInput.value) || nameProblem('channel', chInput.value)
    if (problem) return { error: problem }
    var url = apiBase() + encodeURIComponent(nsInput.value) + '/' + encodeURIComponent(chInput.value)
    if (withPubsub && pubsubBox.checked) url += '?pubsub=true'
    return { url: url, label: nsInput.value + '/' + chInput.value }
  }

  function readHash () {
    var hash = location.hash.slice(1)
    var slash = hash.indexOf('/')
    if (slash <= 0 || slash === hash.length - 1) return null
    try {
      return [decodeURIComponent(hash.slice(0, slash)), decodeURIComponent(hash.slice(slash + 1))]
    } catch (err) {
      return null
    }
  }

  function writeHash () {
    var hash = '#' + encodeURIComponent(nsInput.value) + '/' + encodeURIComponent(chInput.value)
    if (location.hash !== hash) history.replaceState(null, '', hash)
  }

  function showUrl () {
    var t = target(true)
    urlCode.textContent = t.url ? location.origin + t.url : '(' + t.error + ')'
  }

  function randomName () {
    var alphabet = 'abcdefghijkmnpqrstuvwxyz23456789'
    var bytes = new Uint8Array(10)
    crypto.getRandomValues(bytes)
    var name = ''
    for (var i = 0; i < bytes.length; i++) name += alphabet.charAt(bytes[i] % alphabet.length)
    return name
  }

  function onNamesChanged () {
    writeHash()
    showUrl()
  }

  // ---- small helpers ----

  function setStatus (element, text, state) {
    element.textContent = text
    element.dataset.state = state || ''
  }

  function setProgress (bar, loaded, total) {
    if (total > 0) {
      bar.max = total
      bar.value = Math.min(loaded, total)
    } else {
      bar.removeAttribute('value')
    }
  }

  function resetProgress (bar) {
    bar.max = 1
    bar.value = 0
  }

  function formatBytes (n) {
    if (n < 1024) return n + ' B'
    var units = ['KB', 'MB', 'GB', 'TB']
    var i = -1
    do {
      n /= 1024
      i++
    } while (n >= 1024 && i < units.length - 1)
    return n.toFixed(n < 10 ? 1 : 0) + ' ' + units[i]
  }

  function errorText (status, statusText, body) {
    var message = (body || '').trim() || statusText || 'Request failed'
    return 'Error ' + status + ': ' + message
  }

  // attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded (RFC 6266, RFC 8187)
  function contentDisposition (name) {
    var fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_')
    var encoded = encodeURIComponent(name).replace(/['()*]/g, function (c) {
      return '%' + c.charCodeAt(0).toString(16).toUpperCase()
    })
    return 'attachment; filename="' + fallback + '"; filename*=UTF-8\'\'' + encoded
  }

  function safeFilename (name) {
    return name.replace(/[\/\\\u0000-\u001f\u007f]/g, '_').replace(/^[.\s]+/, '').trim().slice(0, 200)
  }

  // The file name of a Content-Disposition header: filename* first, then filename.
  function filenameFrom (header) {
    if (!header) return ''
    var star = /(?:^|;)\s*filename\*\s*=\s*([^;]*)/i.exec(header)
    if (star) {
      var parts = /^\s*([^']*)'[^']*'(.*?)\s*$/.exec(star[1])
      if (parts) {
        var charset = parts[1].toLowerCase()
        try {
          if (charset === 'utf-8') return safeFilename(decodeURIComponent(parts[2]))
          if (charset === 'iso-8859-1') {
            return safeFilename(parts[2].replace(/%([0-9a-f]{2})/gi, function (all, hex) {
              return String.fromCharCode(parseInt(hex, 16))
            }))
          }
        } catch (err) {}
      }
    }
    var quoted = /(?:^|;)\s*filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header)
    if (quoted) return safeFilename(quoted[1].replace(/\\(.)/g, '$1'))
    var token = /(?:^|;)\s*filename\s*=\s*([^;\s]+)/i.exec(header)
    if (token) return safeFilename(token[1])
    return ''
  }

  function isText (type) {
    return /^text\//i.test(type) || /^application\/(json|[^;]*\+json)\s*(;|$)/i.test(type)
  }

  function charsetOf (type) {
    var match = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)
    return match ? match[1] : 'utf-8'
  }

  // ---- send ----

  function updateSendLabel () {
    var file = fileInput.files && fileInput.files[0]
    sendButton.textContent = file ? 'Send file' : 'Send text'
    fileClear.hidden = !file
  }

  function send () {
    if (sending) return
    var t = target(true)
    if (t.error) return setStatus(sendStatus, t.error, 'error')
    var file = fileInput.files && fileInput.files[0]
    var body = file || textInput.value
    var total = file ? file.size : new Blob([body]).size
    var xhr = new XMLHttpRequest()
    xhr.open('POST', t.url)
    if (file) {
      xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream')
      xhr.setRequestHeader('Content-Disposition', contentDisposition(file.name))
    } else {
      xhr.setRequestHeader('Content-Type', 'text/plain; charset=utf-8')
    }
    var what = file ? '"' + file.name + '"' : 'the text'
    var waiting = pubsubBox.checked ? 'Publishing ' + what + ' to ' + t.label + '\u2026' : 'Waiting for a receiver on ' + t.label + '\u2026'
    xhr.upload.addEventListener('progress', function (event) {
      var size = event.lengthComputable ? event.total : total
      setProgress(uploadBar, event.loaded, size)
      if (size > 0 && event.loaded < size) setStatus(sendStatus, waiting + ' ' + formatBytes(event.loaded) + ' of ' + formatBytes(size) + ' sent', 'busy')
      else setStatus(sendStatus, waiting, 'busy')
    })
    xhr.addEventListener('load', function () {
      if (xhr.status >= 200 && xhr.status < 300) {
        setProgress(uploadBar, 1, 1)
        var receivers = xhr.getResponseHeader('X-Httpipe-Receivers')
        var text = 'Sent ' + what + ' (' + formatBytes(total) + ')'
        if (receivers === '0') text += ', but no receiver was waiting: nobody got it.'
        else if (receivers !== null) text += ' to ' + receivers + (receivers === '1' ? ' receiver.' : ' receivers.')
        else text += '.'
        setStatus(sendStatus, text, 'ok')
      } else {
        resetProgress(uploadBar)
        setStatus(sendStatus, errorText(xhr.status, xhr.statusText, xhr.responseText), 'error')
      }
    })
    xhr.addEventListener('error', function () {
      resetProgress(uploadBar)
      setStatus(sendStatus, 'Network error: the connection failed or the receiver went away.', 'error')
    })
    xhr.addEventListener('abort', function () {
      resetProgress(uploadBar)
      setStatus(sendStatus, 'Cancelled.', '')
    })
    xhr.addEventListener('loadend', function () {
      sending = null
      sendButton.disabled = false
      sendAbort.disabled = true
    })
    sending = xhr
    sendButton.disabled = true
    sendAbort.disabled = false
    setProgress(uploadBar, 0, total)
    setStatus(sendStatus, waiting, 'busy')
    xhr.send(body)
  }

  // ---- receive ----

  function clearReceived () {
    if (objectUrl) URL.revokeObjectURL(objectUrl)
    objectUrl = null
    receivedText.textContent = ''
    receivedText.hidden = true
    receivedFile.hidden = true
    downloadLink.removeAttribute('href')
    downloadLink.removeAttribute('download')
    downloadLink.textContent = ''
    receivedSize.textContent = ''
  }

  function showMessage (blob, type, disposition, declaredLength) {
    var filename = filenameFrom(disposition)
    var attachment = /^\s*attachment/i.test(disposition || '')
    var size = formatBytes(blob.size)
    if (declaredLength !== null && declaredLength !== '' && Number(declaredLength) !== blob.size) {
      setStatus(receiveStatus, 'Incomplete message: got ' + blob.size + ' of ' + declaredLength + ' bytes.', 'error')
      return
    }
    objectUrl = URL.createObjectURL(blob)
    var name = filename || (isText(type) ? 'message.txt' : 'message.bin')
    downloadLink.href = objectUrl
    downloadLink.download = name
    downloadLink.textContent = name
    receivedSize.textContent = '(' + size + ', ' + (type || 'unknown type') + ')'
    receivedFile.hidden = false
    if (!filename && !attachment && isText(type) && blob.size <= 1048576) {
      blob.arrayBuffer().then(function (buffer) {
        var decoder
        try {
          decoder = new TextDecoder(charsetOf(type))
        } catch (err) {
          decoder = new TextDecoder('utf-8')
        }
        receivedText.textContent = decoder.decode(buffer)
        receivedText.hidden = false
        setStatus(receiveStatus, 'Received a text message (' + size + ').', 'ok')
      })
    } else {
      setStatus(receiveStatus, 'Received ' + (filename ? '"' + filename + '"' : 'a file') + ' (' + size + ').', 'ok')
    }
  }

  function receive () {
    if (receiving) return
    var t = target(true)
    if (t.error) return setStatus(receiveStatus, t.error, 'error')
    clearReceived()
    var xhr = new XMLHttpRequest()
    xhr.open('GET', t.url)
    xhr.responseType = 'blob'
    xhr.addEventListener('readystatechange', function () {
      if (xhr.readyState === 2 && xhr.status === 200) {
        var length = Number(xhr.getResponseHeader('Content-Length'))
        setProgress(downloadBar, 0, length)
        setStatus(receiveStatus, 'Receiving\u2026', 'busy')
      }
    })
    xhr.addEventListener('progress', function (event) {
      if (xhr.status !== 200) return
      var total = event.lengthComputable ? event.total : Number(xhr.getResponseHeader('Content-Length'))
      setProgress(downloadBar, event.loaded, total)
      setStatus(receiveStatus, 'Receiving\u2026 ' + formatBytes(event.loaded) + (total > 0 ? ' of ' + formatBytes(total) : ''), 'busy')
    })
    xhr.addEventListener('load', function () {
      var blob = xhr.response
      if (xhr.status === 200) {
        setProgress(downloadBar, 1, 1)
        showMessage(blob, xhr.getResponseHeader('Content-Type') || '', xhr.getResponseHeader('Content-Disposition'), xhr.getResponseHeader('Content-Length'))
        return
      }
      resetProgress(downloadBar)
      var status = xhr.status
      var statusText = xhr.statusText
      if (blob && blob.text) {
        blob.text().then(function (text) { setStatus(receiveStatus, errorText(status, statusText, text), 'error') })
      } else {
        setStatus(receiveStatus, errorText(status, statusText, ''), 'error')
      }
    })
    xhr.addEventListener('error', function () {
      resetProgress(downloadBar)
      setStatus(receiveStatus, 'Network error: the connection failed or the message was cut off (did the sender go away?).', 'error')
    })
    xhr.addEventListener('abort', function () {
      resetProgress(downloadBar)
      setStatus(receiveStatus, 'Cancelled.', '')
    })
    xhr.addEventListener('loadend', function () {
      receiving = null
      receiveButton.disabled = false
      receiveAbort.disabled = true
    })
    receiving = xhr
    receiveButton.disabled = true
    receiveAbort.disabled = false
    setProgress(downloadBar, 0, 1)
    setStatus(receiveStatus, (pubsubBox.checked ? 'Waiting for a publisher on ' : 'Waiting for a sender on ') + t.label + '\u2026', 'busy')
    xhr.send()
  }

  // ---- subscribe live (Server-Sent Events) ----

  function stopSubscription (text, state) {
    if (source) source.close()
    source = null
    subscribeButton.disabled = false
    unsubscribeButton.disabled = true
    setStatus(subscribeStatus, text, state)
  }

  function subscribe () {
    if (source) return
    var t = target(true)
    if (t.error) return setStatus(subscribeStatus, t.error, 'error')
    while (messageList.firstChild) messageList.removeChild(messageList.firstChild)
    var es = new EventSource(t.url)
    var count = 0
    var listening = 'Subscribed to ' + t.label + ': waiting for messages.'
    source = es
    es.addEventListener('open', function () {
      if (source === es) setStatus(subscribeStatus, count === 0 ? listening : count + ' received; waiting for more.', 'ok')
    })
    es.addEventListener('message', function (event) {
      if (source !== es) return
      var item = document.createElement('li')
      item.textContent = event.data
      messageList.appendChild(item)
      count++
      setStatus(subscribeStatus, count + (count === 1 ? ' message' : ' messages') + ' received from ' + t.label + '; waiting for more.', 'ok')
    })
    es.addEventListener('error', function () {
      if (source !== es) return
      if (es.readyState === EventSource.CLOSED) stopSubscription('The subscription was refused or failed (check the names).', 'error')
      else setStatus(subscribeStatus, 'Connection lost; reconnecting\u2026', 'busy')
    })
    subscribeButton.disabled = true
    unsubscribeButton.disabled = false
    setStatus(subscribeStatus, 'Connecting to ' + t.label + '\u2026', 'busy')
  }

  // ---- wiring ----

  var initial = readHash()
  nsInput.value = initial ? initial[0] : 'ui'
  chInput.value = initial ? initial[1] : randomName()
  onNamesChanged()
  updateSendLabel()

  nsInput.addEventListener('input', onNamesChanged)
  chInput.addEventListener('input', onNamesChanged)
  pubsubBox.addEventListener('change', showUrl)
  window.addEventListener('hashchange', function () {
    var names = readHash()
    if (!names) return
    nsInput.value = names[0]
    chInput.value = names[1]
    showUrl()
  })

  fileInput.addEventListener('change', updateSendLabel)
  fileClear.addEventListener('click', function () {
    fileInput.value = ''
    updateSendLabel()
    fileInput.focus()
  })
  textInput.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) send()
  })
  sendButton.addEventListener('click', send)
  sendAbort.addEventListener('click', function () { if (sending) sending.abort() })
  receiveButton.addEventListener('click', receive)
  receiveAbort.addEventListener('click', function () { if (receiving) receiving.abort() })
  saveButton.addEventListener('click', function () { if (objectUrl) downloadLink.click() })
  subscribeButton.addEventListener('click', subscribe)
  unsubscribeButton.addEventListener('click', function () { stopSubscription('Stopped.', '') })
  document.documentElement.dataset.ready = 'true'
})()
`

if (SCRIPT.includes('`') || /<\/script/i.test(SCRIPT) || /<\/style/i.test(STYLE)) {
  throw new Error('ui-page: the inline script or style would end its element early')
}

/** A CSP hash source for an inline element's exact text. */
function hashSource (text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`
}

/** The whole page: one self-contained HTML document, no external assets. */
export const UI_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>httpipe</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>httpipe</h1>
<p class="hint">Send text or a file to whoever opens the same channel. Nothing is stored: a sender waits for a receiver, and the data streams straight through.</p>
</header>

<section aria-labelledby="channel-heading">
<h2 id="channel-heading">Channel</h2>
<div class="row">
<div class="field">
<label for="namespace">Namespace</label>
<input type="text" id="namespace" autocomplete="off" autocapitalize="off" spellcheck="false" required>
</div>
<div class="field">
<label for="channel">Channel</label>
<input type="text" id="channel" autocomplete="off" autocapitalize="off" spellcheck="false" required>
</div>
</div>
<div class="check">
<input type="checkbox" id="pubsub" aria-describedby="pubsub-hint">
<label for="pubsub">Pubsub</label>
</div>
<p class="hint" id="pubsub-hint">With pubsub, a message goes to every receiver waiting at that moment, and to nobody if none is.</p>
<p class="hint">Open this page's address in another tab or device to use the same channel. From a terminal, <code>curl -T FILE URL</code> sends and <code>curl URL</code> receives, with URL: <code id="channel-url"></code></p>
</section>

<section aria-labelledby="send-heading">
<h2 id="send-heading">Send</h2>
<label for="text">Text message</label>
<textarea id="text" rows="4" aria-describedby="text-hint"></textarea>
<p class="hint" id="text-hint">Ctrl+Enter sends.</p>
<label for="file">Or a file (sent instead of the text)</label>
<div class="row">
<input type="file" id="file">
<button type="button" id="file-clear" hidden>Clear file</button>
</div>
<div class="buttons">
<button type="button" id="send" class="primary">Send text</button>
<button type="button" id="send-abort" disabled>Cancel</button>
</div>
<label for="upload-progress">Upload progress</label>
<progress id="upload-progress" max="1" value="0"></progress>
<p id="send-status" class="status" role="status" aria-live="polite"></p>
</section>

<section aria-labelledby="receive-heading">
<h2 id="receive-heading">Receive</h2>
<p class="hint">Takes one message from the channel, waiting for a sender if there is none yet.</p>
<div class="buttons">
<button type="button" id="receive" class="primary">Receive</button>
<button type="button" id="receive-abort" disabled>Cancel</button>
</div>
<label for="download-progress">Download progress</label>
<progress id="download-progress" max="1" value="0"></progress>
<p id="receive-status" class="status" role="status" aria-live="polite"></p>
<pre id="received-text" tabindex="0" aria-label="Received text" hidden></pre>
<div id="received-file" hidden>
<p><a id="download-link">file</a> <span id="received-size"></span></p>
<div class="buttons"><button type="button" id="save">Save</button></div>
</div>
</section>

<section aria-labelledby="live-heading">
<h2 id="live-heading">Subscribe live</h2>
<p class="hint">Receives text messages one after another, until you stop.</p>
<div class="buttons">
<button type="button" id="subscribe" class="primary">Subscribe</button>
<button type="button" id="unsubscribe" disabled>Stop</button>
</div>
<p id="subscribe-status" class="status" role="status" aria-live="polite"></p>
<ol id="messages" aria-label="Messages received live"></ol>
</section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`

/** The page's Content-Security-Policy, strict: inline script and style allowed only by their sha256 hashes. */
export const UI_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hashSource(SCRIPT)}`,
  `style-src ${hashSource(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'"
].join('; ')
