// @ts-check
// The web page's script (option `ui`). ui.ts inlines it into page.html and allows it by its hash
// in the page's CSP, so it must never hold a closing script tag. Everything it shows that comes
// from the network goes through textContent, never through HTML parsing, and it attaches
// listeners with addEventListener (the CSP blocks inline handlers).
(function () {
  'use strict'

  /**
   * @template {HTMLElement} T
   * @param {string} id
   * @param {new () => T} type
   * @returns {T}
   */
  function $ (id, type) {
    const element = document.getElementById(id)
    if (!(element instanceof type)) throw new Error('page.html has no ' + type.name + ' #' + id)
    return element
  }

  const nsInput = $('namespace', HTMLInputElement)
  const chInput = $('channel', HTMLInputElement)
  const pubsubBox = $('pubsub', HTMLInputElement)
  const tokenInput = $('token', HTMLInputElement)
  const urlCode = $('channel-url', HTMLElement)
  const textInput = $('text', HTMLTextAreaElement)
  const fileInput = $('file', HTMLInputElement)
  const fileClear = $('file-clear', HTMLButtonElement)
  const sendButton = $('send', HTMLButtonElement)
  const sendAbort = $('send-abort', HTMLButtonElement)
  const uploadBar = $('upload-progress', HTMLProgressElement)
  const sendStatus = $('send-status', HTMLElement)
  const receiveButton = $('receive', HTMLButtonElement)
  const receiveAbort = $('receive-abort', HTMLButtonElement)
  const downloadBar = $('download-progress', HTMLProgressElement)
  const receiveStatus = $('receive-status', HTMLElement)
  const receivedText = $('received-text', HTMLPreElement)
  const receivedFile = $('received-file', HTMLDivElement)
  const downloadLink = $('download-link', HTMLAnchorElement)
  const receivedSize = $('received-size', HTMLSpanElement)
  const saveButton = $('save', HTMLButtonElement)
  const subscribeButton = $('subscribe', HTMLButtonElement)
  const unsubscribeButton = $('unsubscribe', HTMLButtonElement)
  const subscribeStatus = $('subscribe-status', HTMLElement)
  const messageList = $('messages', HTMLOListElement)

  /** @type {XMLHttpRequest | null} */
  let sending = null
  /** @type {XMLHttpRequest | null} */
  let receiving = null
  /** @type {EventSource | null} */
  let source = null
  /** @type {string | null} */
  let objectUrl = null

  // ---- names, URLs and the location hash ----

  // The API lives where this page is served, whether at /channels or /channels/.
  function apiBase () {
    const path = location.pathname
    return path.charAt(path.length - 1) === '/' ? path : path + '/'
  }

  /**
   * @param {string} label
   * @param {string} value
   */
  function nameProblem (label, value) {
    if (value === '') return 'Enter a ' + label + '.'
    if (value === '.' || value === '..') return 'The ' + label + ' cannot be "." or ".." (a browser rewrites them in URLs).'
    if (value.indexOf('/') !== -1) return 'The ' + label + ' cannot contain "/".'
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return 'The ' + label + ' cannot contain control characters.'
    if (Array.from(value).length > 256) return 'The ' + label + ' is longer than 256 characters.'
    return ''
  }

  /**
   * The channel URL for the current names, or what to fix.
   * @param {boolean} withPubsub
   * @returns {{ url: string, label: string, error?: undefined } | { error: string, url?: undefined, label?: undefined }}
   */
  function target (withPubsub) {
    const problem = nameProblem('namespace', nsInput.value) || nameProblem('channel', chInput.value)
    if (problem) return { error: problem }
    let url = apiBase() + encodeURIComponent(nsInput.value) + '/' + encodeURIComponent(chInput.value)
    if (withPubsub && pubsubBox.checked) url += '?pubsub=true'
    return { url, label: nsInput.value + '/' + chInput.value }
  }

  /** @returns {[string, string] | null} */
  function readHash () {
    const hash = location.hash.slice(1)
    const slash = hash.indexOf('/')
    if (slash <= 0 || slash === hash.length - 1) return null
    try {
      return [decodeURIComponent(hash.slice(0, slash)), decodeURIComponent(hash.slice(slash + 1))]
    } catch (err) {
      return null
    }
  }

  function writeHash () {
    const hash = '#' + encodeURIComponent(nsInput.value) + '/' + encodeURIComponent(chInput.value)
    if (location.hash !== hash) history.replaceState(null, '', hash)
  }

  function showUrl () {
    const t = target(true)
    urlCode.textContent = t.url !== undefined ? location.origin + t.url : '(' + t.error + ')'
  }

  function randomName () {
    const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789'
    const bytes = new Uint8Array(10)
    crypto.getRandomValues(bytes)
    let name = ''
    for (const byte of bytes) name += alphabet.charAt(byte % alphabet.length)
    return name
  }

  function onNamesChanged () {
    writeHash()
    showUrl()
  }

  // ---- small helpers ----

  /**
   * @param {HTMLElement} element
   * @param {string} text
   * @param {'' | 'busy' | 'ok' | 'error'} state
   */
  function setStatus (element, text, state) {
    element.textContent = text
    element.dataset.state = state
  }

  /**
   * @param {HTMLProgressElement} bar
   * @param {number} loaded
   * @param {number} total
   */
  function setProgress (bar, loaded, total) {
    if (total > 0) {
      bar.max = total
      bar.value = Math.min(loaded, total)
    } else {
      bar.removeAttribute('value')
    }
  }

  /** @param {HTMLProgressElement} bar */
  function resetProgress (bar) {
    bar.max = 1
    bar.value = 0
  }

  /** @param {number} n */
  function formatBytes (n) {
    if (n < 1024) return n + ' B'
    const units = ['KB', 'MB', 'GB', 'TB']
    let i = -1
    do {
      n /= 1024
      i++
    } while (n >= 1024 && i < units.length - 1)
    return n.toFixed(n < 10 ? 1 : 0) + ' ' + units[i]
  }

  /**
   * @param {number} status
   * @param {string} statusText
   * @param {string} body
   */
  function errorText (status, statusText, body) {
    const message = body.trim() || statusText || 'Request failed'
    if (status === 401) return 'Access refused (401): ' + (tokenInput.value ? 'the access token was not accepted' : 'this server needs an access token: enter it under Channel') + '. ' + message
    if (status === 403) return 'Access refused (403): the access token does not allow this on this channel. ' + message
    return 'Error ' + status + ': ' + message
  }

  // ---- the access token: this tab only, never in the URL of a request that can carry a header ----

  const TOKEN_KEY = 'httpipe-token'

  function loadToken () {
    try {
      tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? ''
    } catch (err) {}
  }

  function saveToken () {
    try {
      if (tokenInput.value) sessionStorage.setItem(TOKEN_KEY, tokenInput.value)
      else sessionStorage.removeItem(TOKEN_KEY)
    } catch (err) {}
  }

  /** @param {XMLHttpRequest} xhr */
  function authorize (xhr) {
    const token = tokenInput.value.trim()
    if (token) xhr.setRequestHeader('Authorization', 'Bearer ' + token)
  }

  /**
   * EventSource cannot send headers: the token goes in the query.
   * @param {string} url
   */
  function withToken (url) {
    const token = tokenInput.value.trim()
    if (!token) return url
    return url + (url.indexOf('?') === -1 ? '?' : '&') + 'token=' + encodeURIComponent(token)
  }

  /**
   * attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded (RFC 6266, RFC 8187)
   * @param {string} name
   */
  function contentDisposition (name) {
    const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_')
    const encoded = encodeURIComponent(name).replace(/['()*]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    return 'attachment; filename="' + fallback + '"; filename*=UTF-8\'\'' + encoded
  }

  /** @param {string} name */
  function safeFilename (name) {
    // eslint-disable-next-line no-control-regex -- control characters never belong in a file name
    return name.replace(/[/\\\u0000-\u001f\u007f]/g, '_').replace(/^[.\s]+/, '').trim().slice(0, 200)
  }

  /**
   * The file name of a Content-Disposition header: filename* first, then filename.
   * @param {string | null} header
   */
  function filenameFrom (header) {
    if (!header) return ''
    const star = /(?:^|;)\s*filename\*\s*=\s*([^;]*)/i.exec(header)
    const parts = star && /^\s*([^']*)'[^']*'(.*?)\s*$/.exec(star[1] ?? '')
    if (parts) {
      const charset = (parts[1] ?? '').toLowerCase()
      const encoded = parts[2] ?? ''
      try {
        if (charset === 'utf-8') return safeFilename(decodeURIComponent(encoded))
        if (charset === 'iso-8859-1') {
          return safeFilename(encoded.replace(/%([0-9a-f]{2})/gi, (_all, hex) => String.fromCharCode(parseInt(hex, 16))))
        }
      } catch (err) {}
    }
    const quoted = /(?:^|;)\s*filename\s*=\s*"((?:[^"\\]|\\.)*)"/i.exec(header)
    if (quoted) return safeFilename((quoted[1] ?? '').replace(/\\(.)/g, '$1'))
    const token = /(?:^|;)\s*filename\s*=\s*([^;\s]+)/i.exec(header)
    if (token) return safeFilename(token[1] ?? '')
    return ''
  }

  /** @param {string} type */
  function isText (type) {
    return /^text\//i.test(type) || /^application\/(json|[^;]*\+json)\s*(;|$)/i.test(type)
  }

  /** @param {string} type */
  function charsetOf (type) {
    const match = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(type)
    return match?.[1] ?? 'utf-8'
  }

  /**
   * What send and receive share: one request at a time, a progress bar, a status line, and a
   * start and a cancel button.
   * @typedef {object} RequestPanel
   * @property {HTMLProgressElement} bar
   * @property {HTMLElement} status
   * @property {HTMLButtonElement} start
   * @property {HTMLButtonElement} cancel
   * @property {string} networkError what a failed connection most likely means here
   * @property {() => void} onEnd called once the request is over, whatever its outcome
   */

  /**
   * Wires a request's failure and end to its panel, and marks the panel busy.
   * @param {XMLHttpRequest} xhr
   * @param {RequestPanel} panel
   */
  function runInPanel (xhr, panel) {
    xhr.addEventListener('error', () => {
      resetProgress(panel.bar)
      setStatus(panel.status, panel.networkError, 'error')
    })
    xhr.addEventListener('abort', () => {
      resetProgress(panel.bar)
      setStatus(panel.status, 'Cancelled.', '')
    })
    xhr.addEventListener('loadend', () => {
      panel.onEnd()
      panel.start.disabled = false
      panel.cancel.disabled = true
    })
    panel.start.disabled = true
    panel.cancel.disabled = false
  }

  // ---- send ----

  function chosenFile () {
    return fileInput.files?.[0]
  }

  function updateSendLabel () {
    const file = chosenFile()
    sendButton.textContent = file ? 'Send file' : 'Send text'
    fileClear.hidden = !file
  }

  function send () {
    if (sending) return
    const t = target(true)
    if (t.error !== undefined) return setStatus(sendStatus, t.error, 'error')
    const file = chosenFile()
    const body = file ?? textInput.value
    const total = file ? file.size : new Blob([body]).size
    const xhr = new XMLHttpRequest()
    xhr.open('POST', t.url)
    authorize(xhr)
    if (file) {
      xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream')
      xhr.setRequestHeader('Content-Disposition', contentDisposition(file.name))
    } else {
      xhr.setRequestHeader('Content-Type', 'text/plain; charset=utf-8')
    }
    const what = file ? '"' + file.name + '"' : 'the text'
    const waiting = pubsubBox.checked ? 'Publishing ' + what + ' to ' + t.label + '\u2026' : 'Waiting for a receiver on ' + t.label + '\u2026'
    xhr.upload.addEventListener('progress', event => {
      const size = event.lengthComputable ? event.total : total
      setProgress(uploadBar, event.loaded, size)
      if (size > 0 && event.loaded < size) setStatus(sendStatus, waiting + ' ' + formatBytes(event.loaded) + ' of ' + formatBytes(size) + ' sent', 'busy')
      else setStatus(sendStatus, waiting, 'busy')
    })
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        setProgress(uploadBar, 1, 1)
        const receivers = xhr.getResponseHeader('X-Httpipe-Receivers')
        let text = 'Sent ' + what + ' (' + formatBytes(total) + ')'
        if (receivers === '0') text += ', but no receiver was waiting: nobody got it.'
        else if (receivers !== null) text += ' to ' + receivers + (receivers === '1' ? ' receiver.' : ' receivers.')
        else text += '.'
        setStatus(sendStatus, text, 'ok')
      } else {
        resetProgress(uploadBar)
        setStatus(sendStatus, errorText(xhr.status, xhr.statusText, xhr.responseText), 'error')
      }
    })
    runInPanel(xhr, {
      bar: uploadBar,
      status: sendStatus,
      start: sendButton,
      cancel: sendAbort,
      networkError: 'Network error: the connection failed or the receiver went away.',
      onEnd: () => { sending = null }
    })
    sending = xhr
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

  /**
   * @param {Blob} blob
   * @param {string} type
   * @param {string | null} disposition
   * @param {string | null} declaredLength
   */
  function showMessage (blob, type, disposition, declaredLength) {
    const filename = filenameFrom(disposition)
    const attachment = /^\s*attachment/i.test(disposition ?? '')
    const size = formatBytes(blob.size)
    if (declaredLength !== null && declaredLength !== '' && Number(declaredLength) !== blob.size) {
      setStatus(receiveStatus, 'Incomplete message: got ' + blob.size + ' of ' + declaredLength + ' bytes.', 'error')
      return
    }
    objectUrl = URL.createObjectURL(blob)
    const name = filename || (isText(type) ? 'message.txt' : 'message.bin')
    downloadLink.href = objectUrl
    downloadLink.download = name
    downloadLink.textContent = name
    receivedSize.textContent = '(' + size + ', ' + (type || 'unknown type') + ')'
    receivedFile.hidden = false
    if (!filename && !attachment && isText(type) && blob.size <= 1048576) {
      blob.arrayBuffer().then(buffer => {
        let decoder
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
    const t = target(true)
    if (t.error !== undefined) return setStatus(receiveStatus, t.error, 'error')
    clearReceived()
    const xhr = new XMLHttpRequest()
    xhr.open('GET', t.url)
    authorize(xhr)
    xhr.responseType = 'blob'
    xhr.addEventListener('readystatechange', () => {
      if (xhr.readyState === 2 && xhr.status === 200) {
        setProgress(downloadBar, 0, Number(xhr.getResponseHeader('Content-Length')))
        setStatus(receiveStatus, 'Receiving\u2026', 'busy')
      }
    })
    xhr.addEventListener('progress', event => {
      if (xhr.status !== 200) return
      const total = event.lengthComputable ? event.total : Number(xhr.getResponseHeader('Content-Length'))
      setProgress(downloadBar, event.loaded, total)
      setStatus(receiveStatus, 'Receiving\u2026 ' + formatBytes(event.loaded) + (total > 0 ? ' of ' + formatBytes(total) : ''), 'busy')
    })
    xhr.addEventListener('load', () => {
      /** @type {Blob | null} */
      const blob = xhr.response
      if (xhr.status === 200 && blob !== null) {
        setProgress(downloadBar, 1, 1)
        showMessage(blob, xhr.getResponseHeader('Content-Type') ?? '', xhr.getResponseHeader('Content-Disposition'), xhr.getResponseHeader('Content-Length'))
        return
      }
      resetProgress(downloadBar)
      const status = xhr.status
      const statusText = xhr.statusText
      if (blob) blob.text().then(text => { setStatus(receiveStatus, errorText(status, statusText, text), 'error') })
      else setStatus(receiveStatus, errorText(status, statusText, ''), 'error')
    })
    runInPanel(xhr, {
      bar: downloadBar,
      status: receiveStatus,
      start: receiveButton,
      cancel: receiveAbort,
      networkError: 'Network error: the connection failed or the message was cut off (did the sender go away?).',
      onEnd: () => { receiving = null }
    })
    receiving = xhr
    setProgress(downloadBar, 0, 1)
    setStatus(receiveStatus, (pubsubBox.checked ? 'Waiting for a publisher on ' : 'Waiting for a sender on ') + t.label + '\u2026', 'busy')
    xhr.send()
  }

  // ---- subscribe live (Server-Sent Events) ----

  /**
   * @param {string} text
   * @param {'' | 'error'} state
   */
  function stopSubscription (text, state) {
    if (source) source.close()
    source = null
    subscribeButton.disabled = false
    unsubscribeButton.disabled = true
    setStatus(subscribeStatus, text, state)
  }

  function subscribe () {
    if (source) return
    const t = target(true)
    if (t.error !== undefined) return setStatus(subscribeStatus, t.error, 'error')
    while (messageList.firstChild) messageList.removeChild(messageList.firstChild)
    const es = new EventSource(withToken(t.url))
    let count = 0
    const listening = 'Subscribed to ' + t.label + ': waiting for messages.'
    source = es
    es.addEventListener('open', () => {
      if (source === es) setStatus(subscribeStatus, count === 0 ? listening : count + ' received; waiting for more.', 'ok')
    })
    es.addEventListener('message', event => {
      if (source !== es) return
      const item = document.createElement('li')
      item.textContent = event.data
      messageList.appendChild(item)
      count++
      setStatus(subscribeStatus, count + (count === 1 ? ' message' : ' messages') + ' received from ' + t.label + '; waiting for more.', 'ok')
    })
    es.addEventListener('error', () => {
      if (source !== es) return
      // EventSource shows no status: a 401 or 403 closes it like any other refusal.
      if (es.readyState === EventSource.CLOSED) stopSubscription('The subscription was refused or failed: check the names' + (tokenInput.value ? ' and the access token (a 401 or 403 closes it).' : ', and whether this server needs an access token.'), 'error')
      else setStatus(subscribeStatus, 'Connection lost; reconnecting\u2026', 'busy')
    })
    subscribeButton.disabled = true
    unsubscribeButton.disabled = false
    setStatus(subscribeStatus, 'Connecting to ' + t.label + '\u2026', 'busy')
  }

  // ---- wiring ----

  const initial = readHash()
  nsInput.value = initial ? initial[0] : 'ui'
  chInput.value = initial ? initial[1] : randomName()
  onNamesChanged()
  updateSendLabel()
  loadToken()

  nsInput.addEventListener('input', onNamesChanged)
  chInput.addEventListener('input', onNamesChanged)
  pubsubBox.addEventListener('change', showUrl)
  tokenInput.addEventListener('input', saveToken)
  window.addEventListener('hashchange', () => {
    const names = readHash()
    if (!names) return
    nsInput.value = names[0]
    chInput.value = names[1]
    showUrl()
  })

  fileInput.addEventListener('change', updateSendLabel)
  fileClear.addEventListener('click', () => {
    fileInput.value = ''
    updateSendLabel()
    fileInput.focus()
  })
  textInput.addEventListener('keydown', event => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) send()
  })
  sendButton.addEventListener('click', send)
  sendAbort.addEventListener('click', () => { sending?.abort() })
  receiveButton.addEventListener('click', receive)
  receiveAbort.addEventListener('click', () => { receiving?.abort() })
  saveButton.addEventListener('click', () => { if (objectUrl) downloadLink.click() })
  subscribeButton.addEventListener('click', subscribe)
  unsubscribeButton.addEventListener('click', () => { stopSubscription('Stopped.', '') })
  document.documentElement.dataset.ready = 'true'
})()
