package heyken.actors.services;

import heyken.protocol.api.Problem;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The record of which services should run, as {@link ServiceApi} asks it. The fenced {@code ServiceLedger} singleton
 * of {@code core} keeps that record and implements this ({@code ServiceLedger.wantedServices}), so that this package
 * never imports {@code core}: core depends on services, not the other way round.
 */
public interface WantedServices {

  /** What is wanted, and the last reconciliation's error per service. */
  record Wanted(String installationId, Map<String, DesiredService> services, Map<String, String> errors) {}

  /** After a change: the service as it is wanted now (null once removed), or why the change was refused. */
  record Change(DesiredService service, Problem problem) {}

  CompletionStage<Wanted> wanted();

  CompletionStage<Change> add(ServiceSpec spec, String requestedBy);

  CompletionStage<Change> change(String name, ServiceAction action, String requestedBy);
}
