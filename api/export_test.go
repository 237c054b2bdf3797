package api

// ServeAuthed is serveAuthed for the external tests (package api_test).
var ServeAuthed = serveAuthed
