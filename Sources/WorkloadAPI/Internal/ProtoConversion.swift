#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
internal import SwiftProtobuf

// Model ⇄ wire messages. The server encodes, the client decodes; both directions live here so
// they stay symmetric.

extension Workload_X509SVIDResponse {
    init(_ set: X509SVIDSet) {
        self.init()
        self.svids = set.svids.map(Workload_X509SVID.init)
        self.crl = set.crls.map { Data($0) }
        self.federatedBundles = set.federatedBundles.mapValues { Data(DERSequence.concatenate($0)) }
    }

    func model() throws(DERSequenceError) -> X509SVIDSet {
        var svids: [X509SVIDMaterial] = []
        svids.reserveCapacity(self.svids.count)
        for svid in self.svids {
            svids.append(
                X509SVIDMaterial(
                    spiffeID: svid.spiffeID,
                    certificateChain: try DERSequence.split(svid.x509Svid),
                    privateKey: Array(svid.x509SvidKey),
                    bundle: try DERSequence.split(svid.bundle),
                    hint: svid.hint
                )
            )
        }
        var federated: [String: [[UInt8]]] = [:]
        for (trustDomain, bundle) in federatedBundles {
            federated[trustDomain] = try DERSequence.split(bundle)
        }
        return X509SVIDSet(svids: svids, crls: crl.map { Array($0) }, federatedBundles: federated)
    }
}

extension Workload_X509SVID {
    init(_ material: X509SVIDMaterial) {
        self.init()
        self.spiffeID = material.spiffeID
        self.x509Svid = Data(DERSequence.concatenate(material.certificateChain))
        self.x509SvidKey = Data(material.privateKey)
        self.bundle = Data(DERSequence.concatenate(material.bundle))
        self.hint = material.hint
    }
}

extension Workload_X509BundlesResponse {
    init(_ set: X509BundleSet) {
        self.init()
        self.crl = set.crls.map { Data($0) }
        self.bundles = set.bundles.mapValues { Data(DERSequence.concatenate($0)) }
    }

    func model() throws(DERSequenceError) -> X509BundleSet {
        var bundles: [String: [[UInt8]]] = [:]
        for (trustDomain, bundle) in self.bundles {
            bundles[trustDomain] = try DERSequence.split(bundle)
        }
        return X509BundleSet(bundles: bundles, crls: crl.map { Array($0) })
    }
}

extension Workload_JWTSVIDResponse {
    init(_ svids: [JWTSVIDMaterial]) {
        self.init()
        self.svids = svids.map { material in
            var svid = Workload_JWTSVID()
            svid.spiffeID = material.spiffeID
            svid.svid = material.token
            svid.hint = material.hint
            return svid
        }
    }

    func model() -> [JWTSVIDMaterial] {
        svids.map { JWTSVIDMaterial(spiffeID: $0.spiffeID, token: $0.svid, hint: $0.hint) }
    }
}

extension Workload_JWTBundlesResponse {
    init(_ set: JWTBundleSet) {
        self.init()
        self.bundles = set.bundles.mapValues { Data($0) }
    }

    func model() -> JWTBundleSet {
        JWTBundleSet(bundles: bundles.mapValues { Array($0) })
    }
}

extension Workload_ValidateJWTSVIDResponse {
    init(_ validated: ValidatedJWT) {
        self.init()
        self.spiffeID = validated.spiffeID
        var claims = Google_Protobuf_Struct()
        claims.fields = validated.claims.mapValues(Google_Protobuf_Value.init)
        self.claims = claims
    }

    func model() -> ValidatedJWT {
        ValidatedJWT(spiffeID: spiffeID, claims: claims.fields.mapValues(ValidatedJWT.ClaimValue.init))
    }
}

extension Google_Protobuf_Value {
    init(_ value: ValidatedJWT.ClaimValue) {
        self.init()
        switch value {
        case .null:
            self.kind = .nullValue(.nullValue)
        case .bool(let bool):
            self.kind = .boolValue(bool)
        case .number(let number):
            self.kind = .numberValue(number)
        case .string(let string):
            self.kind = .stringValue(string)
        case .array(let array):
            var list = Google_Protobuf_ListValue()
            list.values = array.map(Google_Protobuf_Value.init)
            self.kind = .listValue(list)
        case .object(let object):
            var structure = Google_Protobuf_Struct()
            structure.fields = object.mapValues(Google_Protobuf_Value.init)
            self.kind = .structValue(structure)
        }
    }
}

extension ValidatedJWT.ClaimValue {
    init(_ value: Google_Protobuf_Value) {
        switch value.kind {
        case .nullValue, nil:
            self = .null
        case .boolValue(let bool):
            self = .bool(bool)
        case .numberValue(let number):
            self = .number(number)
        case .stringValue(let string):
            self = .string(string)
        case .listValue(let list):
            self = .array(list.values.map(ValidatedJWT.ClaimValue.init))
        case .structValue(let structure):
            self = .object(structure.fields.mapValues(ValidatedJWT.ClaimValue.init))
        }
    }
}
