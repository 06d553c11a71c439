"""The kernels that run the book's chapters talk to their client encrypted.

jupyter_client starts a kernel on TCP ports of the loopback interface, and ipykernel warns
"Kernel is running over TCP without encryption" unless the kernel manager hands it CurveZMQ
keys. That is jupyter_client's ``KernelManager.transport_encryption`` setting, "disabled" by
default; "auto" provisions keys for every kernel whose kernelspec declares "curve" support
(ipykernel's does). Neither myst-nb (the book's build) nor nbclient (``nndl book execute``)
passes a configuration to the kernel managers it creates, so the setting is made the default in
this process, before they create one.

A Sphinx extension, listed in ``sphinx.extra_extensions`` of ``_config.yml``.
"""

from __future__ import annotations


def encrypt_kernel_connections() -> bool:
    """Make "auto" the default of ``KernelManager.transport_encryption`` in this process.

    Returns:
    - True when set; False when this pyzmq has no CurveZMQ (the kernels then stay unencrypted,
      and ipykernel says so)
    """
    import zmq
    from jupyter_client.manager import KernelManager

    if not zmq.has("curve"):
        return False
    KernelManager.class_traits()["transport_encryption"].default_value = "auto"
    return True


def setup(app):
    encrypt_kernel_connections()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
