import Lineage
import SPIFFE
import Testing
import X509

/// Expects `body` to fail at hop `index` (the link for `spiffeID`) for a reason containing `reason`.
func expectHopFailure(
    _ index: Int, _ spiffeID: SPIFFEID, _ reason: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected hop \(index) (\(spiffeID)) to fail with '\(reason)', but the lineage verified", sourceLocation: sourceLocation)
    } catch {
        guard let error = error as? LineageError, case .hop(let failedIndex, let failedID, let failedReason) = error else {
            Issue.record("expected a hop failure, got: \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(failedIndex == index, "\(error)", sourceLocation: sourceLocation)
        #expect(failedID == spiffeID.description, "\(error)", sourceLocation: sourceLocation)
        #expect(failedReason.contains(reason), "expected '\(reason)' in: \(error)", sourceLocation: sourceLocation)
        #expect(error.description.hasPrefix("hop \(index) (\(spiffeID)): "), "\(error)", sourceLocation: sourceLocation)
    }
}

/// Expects `body` to throw a ``LineageError`` whose description contains `text`.
func expectLineageError(
    containing text: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected a lineage error containing '\(text)'", sourceLocation: sourceLocation)
    } catch {
        guard let error = error as? LineageError else {
            Issue.record("expected a LineageError, got: \(error)", sourceLocation: sourceLocation)
            return
        }
        #expect(error.description.contains(text), "expected '\(text)' in: \(error)", sourceLocation: sourceLocation)
    }
}

extension ChainFixture {
    /// Verifies `lineage` as the credential of this fixture's innermost layer.
    func verify(_ lineage: Lineage) throws(LineageError) {
        try verifier.verify(lineage, subject: subject.id, subjectKey: subject.publicKey)
    }
}
