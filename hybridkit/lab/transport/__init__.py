"""The lab's protocol side: what a WinRM/PSRP client talks to, knowing nothing of Exchange.

HTTP server and connection handling (``_http``), authentication (``_auth``: Basic, NTLM/Negotiate;
``_kerberos``/``_kerberos_auth``: a throwaway MIT KDC and Kerberos through Negotiate), TLS certificates
(``_tls``), WSMan envelopes and faults (``_wsman``), WSMan shells and their lifecycle (``_shells``), PSRP runspace
pools and pipelines on psrpcore's server side (``_psrp``, ``_psrp_convert``), injected transient faults and limits
(``_faults``) and the audit log of requests and pipelines (``_audit``).

It reaches the Exchange emulation only through the seam, ``hybridkit.lab._types`` (the ``Engine`` protocol and
the values that cross it); ``tests/lab/test_lab_layers.py`` fails if a module here imports
``hybridkit.lab.exchange``.
"""
