package heyken.actors.services;

import heyken.protocol.CborSerializable;
import java.time.Instant;

/** A service as the CoreManager wants it: its spec, whether it should run, and who added it when. */
public record DesiredService(ServiceSpec spec, boolean running, Instant addedAt, String addedBy)
    implements CborSerializable {

  public DesiredService withRunning(boolean run) {
    return new DesiredService(spec, run, addedAt, addedBy);
  }
}
