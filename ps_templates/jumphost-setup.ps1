<#
  hybridkit jump-host setup - review, then run in an elevated Windows PowerShell 5.1 (or PowerShell 7) session
  ON THE JUMP HOST ${server}. hybridkit itself never runs this script: it reaches the jump host over WinRM and
  only sends cmdlets.

  Generated ${generated} for profile ${profile}.

  Why a jump host: Microsoft retired Exchange Online's WinRM remote PowerShell; the supported route is the
  ExchangeOnlineManagement module (v3, REST) with app-only certificate authentication. hybridkit opens a WinRM
  runspace on this host and, in that runspace, runs Connect-ExchangeOnline -AppId -CertificateThumbprint
  -Organization before any Exchange Online cmdlet.
#>
#Requires -RunAsAdministrator
$$ErrorActionPreference = 'Stop'

$$AppId        = ${app_id}
$$Thumbprint   = ${thumbprint}
$$Organization = ${organization}
$$RemotingUser = ${remoting_account}   # the account in the hybridkit profile (username)

# 1. The Exchange Online module, for every user of this host (the WinRM session runs as $$RemotingUser).
if (-not (Get-Module -ListAvailable -Name ExchangeOnlineManagement)) {
    Install-Module -Name ExchangeOnlineManagement -Scope AllUsers -Force
}

# 2. The app registration's certificate, with its private key, in the machine store.
#    Export it from where it was created as a .pfx and copy it here first.
$$Pfx = Read-Host 'Path of the app certificate .pfx'
Import-PfxCertificate -FilePath $$Pfx -CertStoreLocation Cert:\LocalMachine\My -Password (Read-Host -AsSecureString 'PFX password') | Out-Null
$$Cert = Get-Item "Cert:\LocalMachine\My\$$Thumbprint"

# 3. The remoting account must read the certificate's private key (Connect-ExchangeOnline fails otherwise).
$$Key = [System.Security.Cryptography.X509Certificates.RSACertificateExtensions]::GetRSAPrivateKey($$Cert)
$$KeyFile = Get-ChildItem -Path "$$env:ProgramData\Microsoft\Crypto" -Recurse -Filter $$Key.Key.UniqueName | Select-Object -First 1
$$Acl = Get-Acl -Path $$KeyFile.FullName
$$Acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($$RemotingUser, 'Read', 'Allow')))
Set-Acl -Path $$KeyFile.FullName -AclObject $$Acl

# 4. WinRM over HTTPS (5986) with this host's own server certificate; keep Basic and unencrypted traffic off.
Enable-PSRemoting -Force
$$HostCert = Get-ChildItem Cert:\LocalMachine\My | Where-Object { $$_.Subject -eq "CN=$$env:COMPUTERNAME.$$env:USERDNSDOMAIN" } | Select-Object -First 1
if ($$HostCert -and -not (Get-ChildItem WSMan:\localhost\Listener | Where-Object { $$_.Keys -contains 'Transport=HTTPS' })) {
    New-Item -Path WSMan:\localhost\Listener -Transport HTTPS -Address * -CertificateThumbPrint $$HostCert.Thumbprint -Force | Out-Null
}
Set-Item WSMan:\localhost\Service\AllowUnencrypted -Value $$false
# Connect-ExchangeOnline loads a large module into each shell: give shells room, and hybridkit's pools a quota.
Set-Item WSMan:\localhost\Shell\MaxMemoryPerShellMB -Value 4096
Set-Item WSMan:\localhost\Shell\MaxShellsPerUser -Value 10
Set-Item WSMan:\localhost\Plugin\Microsoft.PowerShell\Quotas\MaxMemoryPerShellMB -Value 4096
Restart-Service WinRM

# 5. Check the whole chain once, as hybridkit will run it.
Connect-ExchangeOnline -AppId $$AppId -CertificateThumbprint $$Thumbprint -Organization $$Organization -ShowBanner:$$false
Get-ConnectionInformation | Select-Object Name, UserPrincipalName, AppId, TenantID, State
Disconnect-ExchangeOnline -Confirm:$$false
Write-Host ${ready_message}
