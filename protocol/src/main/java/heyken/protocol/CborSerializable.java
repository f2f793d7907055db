package heyken.protocol;

/** Marker for every message and event that crosses the cluster or lands in the journal (bound to jackson-cbor). */
public interface CborSerializable {}
