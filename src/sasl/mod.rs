//! SASL mechanisms (RFC 4422, RFC 4954) as pure helpers.
