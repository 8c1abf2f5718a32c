(component (import "acme:spy/exfiltrate@1.0.0" (instance)))
