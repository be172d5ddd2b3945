function New-AzcmKeyPair {
    <#
    .SYNOPSIS
    Generates the RSA key pair a later connect uses, and returns its public key.

    .DESCRIPTION
    Runs 'azcm genkey': an RSA-2048 key pair whose private key stays in the agent's Certs folder
    (administrators only) and whose public key is returned as base64 DER PKCS#1, the format of
    ARM's clientPublicKey. A new key replaces the previous one. Supports -WhatIf and -Confirm.

    .PARAMETER Session
    Runs the cmdlet on the machines of these PowerShell sessions (the AzcmAgent module must be
    installed there) and returns their results, each with PSComputerName and MachineName.

    .PARAMETER ThrottleLimit
    How many machines work at once with -Session, -ComputerName or -HostName (default 32).

    .EXAMPLE
    (New-AzcmKeyPair).PublicKey

    Makes a new RSA key pair and returns its public key in the form ARM's clientPublicKey takes.

    .OUTPUTS
    AzcmAgent.KeyPair: the public key, its format and size, and where the private key is kept.

    .LINK
    about_AzcmAgent

    .LINK
    Connect-AzcmAgent
    #>
    [CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'Medium')]
    [OutputType('AzcmAgent.KeyPair')]
    param(
        # A variable that holds no session (none opened) must not turn a fleet run into a local one.
        [Parameter(Mandatory = $false)]
        [ValidateNotNullOrEmpty()]
        [System.Management.Automation.Runspaces.PSSession[]]$Session,

        [Parameter(Mandatory = $false)]
        [ValidateRange(1, 1024)]
        [int]$ThrottleLimit = 32
    )

    process {
        $action = 'Generate a new onboarding key pair (replaces the stored private key)'
        if ($Session) {
            Invoke-AzcmFanOut -Cmdlet $PSCmdlet -Action $action -ThrottleLimit $ThrottleLimit
            return
        }
        if (-not (Confirm-AzcmAction -Cmdlet $PSCmdlet -Target 'Azure Connected Machine agent' -Action $action)) {
            return
        }
        $result = Invoke-AzcmNative -Cmdlet $PSCmdlet -Command @('genkey')
        [pscustomobject]@{
            PSTypeName      = 'AzcmAgent.KeyPair'
            PublicKey       = [string]$result.publicKey
            PublicKeyFormat = [string]$result.publicKeyFormat
            KeySize         = [int]$result.keySize
            PrivateKeyPath  = [string]$result.privateKeyPath
        }
    }
}
