"""Layer ``modules``: addon discovery and manifests, install / upgrade / uninstall, data
files, assembling a registry with its services, the job worker."""
