//! The syntax layer: pure parsers and serializers for everything that crosses the wire
//! outside message content. No session state lives here.
