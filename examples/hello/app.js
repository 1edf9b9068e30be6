// Proves that scripts load and run: the tests look for this exact text.
document.getElementById('app-status').textContent = 'app.js ran: hello from peersite!'
